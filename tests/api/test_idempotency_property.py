"""The property of `idempotencyKey`, over every mutation that takes one: sent 1 to 10 times at once
with one key, a generated valid input leaves the state one send leaves and every answer is the one
send's answer; the same key with another input is a Conflict that changes nothing.

Each example runs in two fresh worlds (a tenant each, and a suffix for platform-wide names): the
first gets one send, the second the concurrent ones. The state compared is the rows each table
gained, and the counts of every status a mutation can change."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.api.keyed_mutations import CASES, Case, World, input_of
from tests.conftest import _api_tenant, _libpq

pytestmark = pytest.mark.asyncio
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]

COUNTS = """
SELECT 'tenant', count(*) FROM tenant UNION ALL
SELECT 'api_key', count(*) FROM api_key UNION ALL
SELECT 'playbook', count(*) FROM playbook UNION ALL
SELECT 'playbook_step', count(*) FROM playbook_step UNION ALL
SELECT 'tool_definition', count(*) FROM tool_definition UNION ALL
SELECT 'policy_pack', count(*) FROM tenant_policy_pack_version UNION ALL
SELECT 'domain_pack', count(*) FROM domain_pack_version UNION ALL
SELECT 'remediation_plan', count(*) FROM remediation_plan UNION ALL
SELECT 'exception_event', count(*) FROM exception_event UNION ALL
SELECT 'audit_log', count(*) FROM audit_log UNION ALL
SELECT 'webhook_endpoint', count(*) FROM webhook_endpoint UNION ALL
SELECT 'idempotency_key', count(*) FROM idempotency_key UNION ALL
SELECT 'plan ' || status, count(*) FROM remediation_plan GROUP BY status UNION ALL
SELECT 'tenant ' || status, count(*) FROM tenant GROUP BY status UNION ALL
SELECT 'revoked api_key', count(*) FROM api_key WHERE revoked_at IS NOT NULL UNION ALL
SELECT 'enabled webhook_endpoint', count(*) FROM webhook_endpoint WHERE enabled UNION ALL
SELECT 'deleted webhook_endpoint', count(*) FROM webhook_endpoint WHERE deleted_at IS NOT NULL
"""
ONE_TIME = ("secret", "adminKey")
RETIRE_ENDPOINTS = "UPDATE webhook_endpoint SET deleted_at = now() WHERE tenant_id = ANY($1::text[])"
"""The examples' endpoints (at 127.0.0.1:9, never answering) must not take the webhook tests'
places in a dispatcher's pass over every due endpoint of the shared database."""


class State:
    """Counts of rows per table and per status, read as the schema owner (every tenant at once:
    the examples run one after another, so a change between two reads is the sends')."""

    def __init__(self, owner: asyncpg.Connection) -> None:
        self.owner = owner

    async def __call__(self) -> dict[str, int]:
        return {name: count for name, count in await self.owner.fetch(COUNTS)}


def _change(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    names = set(before) | set(after)
    return {
        name: after.get(name, 0) - before.get(name, 0)
        for name in sorted(names)
        if after.get(name, 0) != before.get(name, 0)
    }


def _comparable(answer: dict[str, Any], world: World) -> str:
    """An answer as the other world would give it: without `replayed`, one-time secrets only as
    present or not, the world's names without its suffix."""
    shown = {name: (value is not None if name in ONE_TIME else value) for name, value in answer.items()}
    shown.pop("replayed", None)
    return json.dumps(shown, sort_keys=True).replace(world.suffix, "<world>").replace(world.tenant.tenant_id, "<t>")


async def _world(factory) -> World:
    return World(await _api_tenant(factory, "w"), uuid.uuid4().hex[:8])


async def _send(gql, case: Case, world: World, given: dict[str, Any], times: int) -> list[dict[str, Any]]:
    key = world.key(case.role, gql.admin_token)
    sent = [gql.data(case.document, {"input": given}, key=key) for _ in range(times)]
    return [data[case.field] for data in await asyncio.gather(*sent)]


async def _run(gql, state: State, case: Case, world: World, generated: dict, times: int) -> tuple[list, dict, dict]:
    given = input_of(case, generated, await case.prepare(gql, world))
    given["idempotencyKey"] = str(uuid.uuid4())
    before = await state()
    answers = await _send(gql, case, world, given, times)
    return answers, _change(before, await state()), given


@pytest.mark.parametrize("case", CASES, ids=[case.field for case in CASES])
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), phases=PHASES)
@given(data=st.data())
async def test_one_key_sent_up_to_ten_times_at_once_answers_and_writes_like_one_send(
    gql, factory, database, platform_rows, case, data
):
    generated, times = data.draw(case.fields, "input"), data.draw(st.integers(1, 10), "times")
    owner = await asyncpg.connect(_libpq(database.owner_url))
    worlds = (await _world(factory), await _world(factory))
    try:
        await _check(gql, State(owner), case, worlds, generated, times)
    finally:
        await owner.execute(RETIRE_ENDPOINTS, [world.tenant.tenant_id for world in worlds])
        await owner.close()


async def _check(gql, state: State, case: Case, worlds: tuple[World, World], generated: dict, times: int) -> None:
    single_world, world = worlds
    (single,), single_change, _ = await _run(gql, state, case, single_world, generated, 1)
    assert "code" not in single, single
    answers, change, given = await _run(gql, state, case, world, generated, times)
    assert sorted(answer["replayed"] for answer in answers) == [False] + [True] * (times - 1)
    assert all({**answer, "replayed": False} == {**answers[0], "replayed": False} for answer in answers)
    assert _comparable(answers[0], world) == _comparable(single, single_world)
    assert change == single_change

    before = await state()
    other = (await _send(gql, case, world, case.vary(given), 1))[0]
    assert (other["__typename"], other["code"]) == ("Conflict", "CONFLICT")
    assert await state() == before
