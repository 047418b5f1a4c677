"""No request can hurt another: a request that fails, in any field and in any way, answers with
a JSON error, leaves no transaction or connection behind, and never changes what a concurrent
request of the same or another tenant gets.

The document below used to answer a bare HTTP 500 and leave its read transaction `idle in
transaction`: graphql-core cancels the siblings of a failing field, and the cancelled `sla`
of alias `b` cancelled the policy-pack row that alias `a` was waiting for too. Twenty copies
at once then exhausted the pool for every tenant until a restart.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.api.helpers import ingest

pytestmark = pytest.mark.asyncio

SHARED_LOADER_FAILURE = """
query Shared($id: String!) {
  a: exception(exceptionId: $id) { sla { state } }
  b: exception(exceptionId: $id) { sla { state } events(first: -1) { totalCount } }
}"""

IDLE_IN_TRANSACTION = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE usename = current_user AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
)


async def post(gql, key: str, query: str, variables: dict) -> tuple[int, dict]:
    response = await gql.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.status_code, response.json()


async def assert_pool_whole(engine) -> None:
    """Every connection the app borrowed is back, and none sits in an open transaction."""
    assert engine.pool.checkedout() == 0
    async with engine.connect() as connection:
        assert await connection.scalar(IDLE_IN_TRANSACTION) == 0


def codes(body: dict) -> set[str]:
    return {error.get("extensions", {}).get("code") for error in body.get("errors", [])}


async def test_a_failing_alias_does_not_cancel_the_row_another_alias_shares(gql, api_a, engine):
    await ingest(gql, api_a.operator, "X-1")

    status, body = await post(gql, api_a.viewer, SHARED_LOADER_FAILURE, {"id": "X-1"})

    assert status == 200
    assert body["data"]["a"] == {"sla": {"state": "ON_TRACK"}}
    assert body["data"]["b"] is None
    assert codes(body) == {"VALIDATION_FAILED"}
    assert body["errors"][0]["path"] == ["b", "events"]
    await assert_pool_whole(engine)


async def test_twenty_concurrent_failing_requests_leave_the_pool_whole_for_every_tenant(gql, api_a, api_b, engine):
    await ingest(gql, api_a.operator, "X-1")
    await ingest(gql, api_b.operator, "Y-1")

    answers = await asyncio.gather(*(post(gql, api_a.viewer, SHARED_LOADER_FAILURE, {"id": "X-1"}) for _ in range(20)))

    assert {status for status, _ in answers} == {200}
    assert all(codes(body) == {"VALIDATION_FAILED"} for _, body in answers)
    await assert_pool_whole(engine)
    other = await gql.data('{ exception(exceptionId: "Y-1") { exceptionId sla { state } } }', key=api_b.viewer)
    assert other["exception"]["exceptionId"] == "Y-1"


# Fields that fail (each a mistake a client makes on its first day) and fields that succeed,
# mixed under aliases of the same exception, so failing and healthy fields share loaders.
FAILING = [
    "events(first: -1) { totalCount }",
    "events(first: 101) { totalCount }",
    'events(after: "not-a-cursor") { totalCount }',
    "entityHistory(first: 101) { totalCount }",
    "similar(first: 50) { score }",
]
HEALTHY = [
    "sla { state remaining }",
    "events(first: 2) { totalCount nodes { eventType } }",
    "currentPlaybook { name }",
    "remediationPlans { status }",
    "entityHistory(first: 2) { totalCount }",
    "similar(first: 2) { score }",
    "policyPack { version }",
    "status",
]
ALIAS = st.lists(st.sampled_from(FAILING + HEALTHY), min_size=1, max_size=4)


def document(aliases: list[list[str]]) -> str:
    def selection(fields: list[str]) -> str:
        return " ".join(f"f{m}: {field}" for m, field in enumerate(fields))

    roots = (f'r{n}: exception(exceptionId: "X-1") {{ {selection(fields)} }}' for n, fields in enumerate(aliases))
    return "{ " + " ".join(roots) + " }"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.lists(ALIAS, min_size=1, max_size=3), min_size=2, max_size=6))
async def test_generated_mixes_of_failing_and_healthy_fields_never_hurt_anyone(gql, api_a, api_b, engine, batch):
    await ingest(gql, api_a.operator, "X-1")
    await ingest(gql, api_b.operator, "Y-1")

    answers = await asyncio.gather(*(post(gql, api_a.viewer, document(aliases), {}) for aliases in batch))

    for (status, body), aliases in zip(answers, batch):
        assert status == 200, body
        assert "INTERNAL" not in codes(body), body
        failing = {n for n, fields in enumerate(aliases) if any(field in FAILING for field in fields)}
        for n in range(len(aliases)):
            assert (body["data"][f"r{n}"] is None) == (n in failing), body
    await assert_pool_whole(engine)
    other = await gql.data('{ exception(exceptionId: "Y-1") { exceptionId } }', key=api_b.viewer)
    assert other["exception"]["exceptionId"] == "Y-1"
