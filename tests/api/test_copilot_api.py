"""The Co-Pilot's context and the supervisor's view: SLA state, similar cases, entity history,
statistics — correct at their boundaries, isolated per tenant, and bounded in SQL statements."""

import json
import random
import re
import statistics
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sentinai.db import models
from sentinai.domain.actors import PLATFORM_ADMIN
from sentinai.seeding.bulk import SeedPlan, seed_bulk
from sentinai.services.configuration import create_api_key
from tests.api import documents as doc
from tests.api.helpers import ingest, propose, record
from tests.conftest import _libpq

pytestmark = pytest.mark.asyncio

COPILOT_DOC = Path(__file__).resolve().parents[2] / "docs" / "copilot.md"
NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
SLA = "query($id: String!) { exception(exceptionId: $id) { sla { state remaining deadline breachedAt } } }"
BY_STATE = (
    "query($s: [SlaState!]) { exceptions(first: 100, filter: {slaState: $s}) { totalCount nodes { exceptionId } } }"
)


def _at(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


async def _sla_world(gql, key):
    cases = {
        "S-NONE": None,
        "S-TRACK": _at(timedelta(hours=4, seconds=1)),
        "S-EDGE": _at(timedelta(hours=4)),
        "S-NOW": _at(timedelta(0)),
        "S-LATE": _at(timedelta(seconds=-1)),
        "S-MET": "2099-01-01T00:00:00+00:00",
        "S-MISSED": "2001-01-01T00:00:00+00:00",
    }
    for exception_id, deadline in cases.items():
        await ingest(gql, key, exception_id, slaDeadline=deadline)
    for exception_id in ("S-MET", "S-MISSED"):
        await gql.data(doc.TRANSITION, {"input": {"exceptionId": exception_id, "status": "RESOLVED"}}, key=key)


EXPECTED_STATES = {
    "S-NONE": "NONE",
    "S-TRACK": "ON_TRACK",
    "S-EDGE": "AT_RISK",
    "S-NOW": "AT_RISK",
    "S-LATE": "BREACHED",
    "S-MET": "MET",
    "S-MISSED": "BREACHED",
}


async def test_sla_states_at_their_boundaries_agree_between_the_field_and_the_filter(gql, api_a, clock):
    await _sla_world(gql, api_a.operator)
    clock.frozen = NOW
    for exception_id, expected in EXPECTED_STATES.items():
        sla = (await gql.data(SLA, {"id": exception_id}, key=api_a.viewer))["exception"]["sla"]
        assert sla["state"] == expected, exception_id
    assert (await gql.data(SLA, {"id": "S-LATE"}, key=api_a.viewer))["exception"]["sla"]["remaining"] == -1
    assert (await gql.data(SLA, {"id": "S-EDGE"}, key=api_a.viewer))["exception"]["sla"]["remaining"] == 4 * 3600
    for state in set(EXPECTED_STATES.values()):
        listed = (await gql.data(BY_STATE, {"s": [state]}, key=api_a.viewer))["exceptions"]
        assert {n["exceptionId"] for n in listed["nodes"]} == {k for k, v in EXPECTED_STATES.items() if v == state}, (
            state
        )


async def test_the_at_risk_window_follows_the_tenants_policy_pack(gql, api_a, clock):
    await _sla_world(gql, api_a.operator)
    await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {"sla": {"atRiskMinutes": 60}}}}, key=api_a.admin)
    clock.frozen = NOW
    edge = (await gql.data(SLA, {"id": "S-EDGE"}, key=api_a.viewer))["exception"]["sla"]["state"]
    at_risk = (await gql.data(BY_STATE, {"s": ["AT_RISK"]}, key=api_a.viewer))["exceptions"]["nodes"]
    assert edge == "ON_TRACK" and [n["exceptionId"] for n in at_risk] == ["S-NOW"]


async def test_sla_breaches_lists_open_work_most_urgent_first_and_only_the_tenants(gql, api_a, api_b, clock):
    await _sla_world(gql, api_a.operator)
    await _sla_world(gql, api_b.operator)
    clock.frozen = NOW
    query = "{ slaBreaches { totalCount nodes { exceptionId } } }"
    listed = (await gql.data(query, key=api_a.viewer))["slaBreaches"]
    assert [n["exceptionId"] for n in listed["nodes"]] == ["S-LATE", "S-NOW", "S-EDGE"]
    assert listed["totalCount"] == 3


SIMILAR = """query($id: String!) { exception(exceptionId: $id) { similar(first: 10) {
  score reasons { kind detail contribution } timeToResolve remediations exception { exceptionId } } } }"""


async def _similar_world(gql, key):
    summary = "Trade failed to settle: counterparty SSI mismatch on EUR leg"
    await ingest(gql, key, "T", summary=summary)
    await ingest(gql, key, "A", summary=summary)
    await ingest(gql, key, "B", summary="Quarterly fee accrual posted twice to ledger")
    await ingest(gql, key, "C", entity="CPTY-9", sourceSystem="Calypso", summary="Trade failed to settle: SSI mismatch")
    await ingest(
        gql,
        key,
        "D",
        domain="Healthcare",
        type="ClaimDenied",
        entity="PATIENT-1",
        sourceSystem="Epic",
        summary="Trade failed to settle: counterparty SSI mismatch on USD leg",
    )
    await ingest(
        gql,
        key,
        "F",
        domain="ITOps",
        type="Outage",
        entity="host-1",
        sourceSystem="Datadog",
        summary="Disk full on database host",
    )


async def test_similar_cases_rank_in_the_known_order_with_checkable_reasons(gql, api_a, api_b):
    await _similar_world(gql, api_a.operator)
    await _similar_world(gql, api_b.operator)
    plan = (await propose(gql, api_a.agent, "A"))["plan"]
    await gql.data(doc.APPROVE, {"input": {"planId": plan["planId"]}}, key=api_a.operator)
    await gql.data(doc.OUTCOME, {"input": {"planId": plan["planId"], "outcome": "EXECUTED"}}, key=api_a.agent)
    await gql.data(doc.TRANSITION, {"input": {"exceptionId": "A", "status": "RESOLVED"}}, key=api_a.operator)
    similar = (await gql.data(SIMILAR, {"id": "T"}, key=api_a.viewer))["exception"]["similar"]
    assert [case["exception"]["exceptionId"] for case in similar] == ["A", "B", "C", "D", "F"]
    best = similar[0]
    assert best["score"] == pytest.approx(1.0)
    assert [reason["kind"] for reason in best["reasons"]][:2] == ["SAME_TYPE", "SIMILAR_SUMMARY"]
    assert best["remediations"] == ["reinstruct"] and best["timeToResolve"] is not None
    assert all(abs(case["score"] - sum(r["contribution"] for r in case["reasons"])) < 1e-3 for case in similar)
    assert similar == (await gql.data(SIMILAR, {"id": "T"}, key=api_a.viewer))["exception"]["similar"]


async def test_entity_history_shows_the_entitys_earlier_exceptions_of_this_tenant_only(gql, api_a, api_b):
    for exception_id in ("H-1", "H-2", "H-3"):
        await ingest(gql, api_a.operator, exception_id, entity="CPTY-H")
        await ingest(gql, api_b.operator, exception_id, entity="CPTY-H")
    query = """{ exception(exceptionId: "H-3") { entityHistory(first: 1) { totalCount nodes { exceptionId }
                 pageInfo { hasNextPage } } }
               entityHistory(entity: "CPTY-H") { totalCount nodes { exceptionId } } }"""
    data = await gql.data(query, key=api_a.viewer)
    history = data["exception"]["entityHistory"]
    assert (history["totalCount"], history["nodes"], history["pageInfo"]["hasNextPage"]) == (
        2,
        [{"exceptionId": "H-2"}],
        True,
    )
    assert [n["exceptionId"] for n in data["entityHistory"]["nodes"]] == ["H-3", "H-2", "H-1"]


def _copilot_document() -> tuple[str, dict]:
    text = COPILOT_DOC.read_text()
    query = re.search(r"```graphql\n(.*?)```", text, re.S).group(1)
    return query, json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))


async def test_the_documented_copilot_query_runs_in_at_most_four_statements(gql, api_a, count_statements, capsys):
    query, variables = _copilot_document()
    target = variables["exceptionId"]
    await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {"sla": {"atRiskMinutes": 30}}}}, key=api_a.admin)
    for n in range(2):
        await ingest(gql, api_a.operator, f"{target}-earlier-{n}")
    await ingest(gql, api_a.operator, target)
    counts = []
    for others in (3, 40):
        for n in range(others):
            await ingest(gql, api_a.operator, f"{target}-{others}-{n}")
            await record(gql, api_a.agent, target, "CommentAdded", {"text": f"{others}-{n}"})
        with count_statements:
            data = await gql.data(query, variables, key=api_a.viewer)
        counts.append(count_statements.count)
        context = data["exception"]
        assert context["similar"] and context["entityHistory"]["nodes"] and context["policyPack"]["version"] == 1
        assert [s for s in count_statements.statements if "json_build_object" in s] != [], "planned"
    # The scope's set_config, the key lookup (uncached in tests) with its own, and the one document.
    assert counts[0] == counts[1] and counts[1] <= 4
    with capsys.disabled():
        print(f"\n  Co-Pilot context query: {counts[1]} SQL statements (with 3 and with 40 related rows)")


async def test_statistics_equal_a_brute_force_computation_over_random_data(database, factory, gql, clock):
    prefix = f"st{uuid.uuid4().hex[:6]}"
    await seed_bulk(
        _libpq(database.owner_url),
        SeedPlan(1, 300, 1, playbooks_per_tenant=1, prefix=prefix, seed=random.randint(0, 10**6)),
    )
    tenant_id = f"{prefix}-001"
    async with factory.uow(tenant_id) as uow:
        _, key = await create_api_key(uow, PLATFORM_ADMIN, "viewer", models.ApiKeyRole.VIEWER)
        rows = await _all_rows(uow)
        await uow.commit()
    clock.frozen = datetime(2026, 4, 1, tzinfo=UTC)
    query = """{ exceptionStats(groupBy: [DOMAIN, SEVERITY], bucket: WEEK) { key { domain severity bucketStart }
                 count openCount slaBreachedCount slaAtRiskCount meanTimeToResolve p90TimeToResolve totalAmount } }"""
    groups = (await gql.data(query, key=key))["exceptionStats"]
    expected = _brute_force(rows, clock.frozen)
    got = {(g["key"]["domain"], g["key"]["severity"].lower(), g["key"]["bucketStart"]): g for g in groups}
    assert set(got) == set(expected)
    for group_key, want in expected.items():
        have = got[group_key]
        assert (have["count"], have["openCount"], have["slaBreachedCount"], have["slaAtRiskCount"]) == want[:4], (
            group_key
        )
        assert Decimal(have["totalAmount"]) == want[6]
        for position, field in ((4, "meanTimeToResolve"), (5, "p90TimeToResolve")):
            assert (have[field] is None) == (want[position] is None)
            if want[position] is not None:
                assert have[field] == pytest.approx(want[position], rel=1e-6)


async def _all_rows(uow):
    from sqlalchemy import select

    return list(
        (
            await uow.execute(select(models.ExceptionRecord).where(models.ExceptionRecord.tenant_id == uow.tenant_id))
        ).scalars()
    )


def _week(moment: datetime) -> str:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day - timedelta(days=day.weekday())).isoformat()


def _p90(values):
    ordered = sorted(values)
    position = 0.9 * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _brute_force(rows, now):
    groups = defaultdict(list)
    for row in rows:
        groups[(row.domain, row.severity.value, _week(row.created_at))].append(row)
    result = {}
    for key, members in groups.items():
        resolved = [(r.resolved_at - r.created_at).total_seconds() for r in members if r.resolved_at]
        open_rows = [r for r in members if r.status != models.ExceptionStatus.RESOLVED]
        breached = sum(
            1
            for r in members
            if r.sla_deadline
            and ((r.resolved_at and r.resolved_at > r.sla_deadline) or (not r.resolved_at and r.sla_deadline < now))
        )
        at_risk = sum(1 for r in open_rows if r.sla_deadline and now <= r.sla_deadline <= now + timedelta(hours=4))
        result[key] = (
            len(members),
            len(open_rows),
            breached,
            at_risk,
            statistics.fmean(resolved) if resolved else None,
            _p90(resolved) if resolved else None,
            sum((r.amount for r in members if r.amount is not None), Decimal("0")),
        )
    return result
