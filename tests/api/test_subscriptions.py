"""Live subscriptions over graphql-transport-ws, against a real uvicorn server: a timeline and the
Operations Center table arrive in order, exactly once, resume from a position, stay inside the
key's tenant, and end when the key stops being valid."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.api import documents as doc
from tests.api.helpers import ingest, record
from tests.api.live import TABLE, TIMELINE, WAIT, LiveClient, clients, live_url, served_with

pytestmark = pytest.mark.asyncio
__all__ = ["clients", "live_url"]  # fixtures, used by name


async def test_a_timeline_delivers_its_history_then_each_new_event_as_it_commits(gql, api_a, clients):
    await ingest(gql, api_a.operator, "EXC-L1")
    client = await clients(api_a.viewer)
    await client.subscribe(TIMELINE, {"exceptionId": "EXC-L1"})

    (created,) = await client.results(1)
    await record(gql, api_a.agent, "EXC-L1", "CommentAdded", {"text": "live"})
    (comment,) = await client.results(1)

    assert created["event"]["eventType"] == "ExceptionCreated" and created["source"] == "EXCEPTION_EVENT"
    assert comment["event"] == {"eventType": "CommentAdded", "payload": {"text": "live"}}
    assert comment["position"] > created["position"]


async def test_a_reconnected_subscriber_resumes_from_its_position_missing_and_repeating_nothing(gql, api_a, clients):
    await ingest(gql, api_a.operator, "EXC-L2")
    first = await clients(api_a.viewer)
    await first.subscribe(TIMELINE, {"exceptionId": "EXC-L2"})
    await record(gql, api_a.agent, "EXC-L2", "CommentAdded", {"text": "one"})
    seen = await first.results(2)
    await first.close()

    for text in ("two", "three"):  # while nobody listens
        await record(gql, api_a.agent, "EXC-L2", "CommentAdded", {"text": text})
    again = await clients(api_a.viewer)
    await again.subscribe(TIMELINE, {"exceptionId": "EXC-L2", "after": str(seen[-1]["position"])})
    resumed = await again.results(2)

    assert [item["event"]["payload"] for item in resumed] == [{"text": "two"}, {"text": "three"}]
    assert await again.silent()


async def test_another_tenants_events_never_reach_a_subscription_even_under_the_same_exception_id(
    gql, api_a, api_b, clients
):
    await ingest(gql, api_a.operator, "EXC-SHARED")
    await ingest(gql, api_b.operator, "EXC-SHARED")
    client = await clients(api_a.viewer)
    await client.subscribe(TIMELINE, {"exceptionId": "EXC-SHARED"})
    await client.results(1)

    await record(gql, api_b.agent, "EXC-SHARED", "CommentAdded", {"text": "tenant b"})
    await record(gql, api_a.agent, "EXC-SHARED", "CommentAdded", {"text": "tenant a"})

    (only,) = await client.results(1)
    assert only["event"]["payload"] == {"text": "tenant a"}
    assert await client.silent()


async def test_the_operations_table_sees_created_changed_and_resolved_within_its_filter(gql, api_a, clients):
    client = await clients(api_a.viewer)
    await client.subscribe(TABLE, {"filter": {"severity": ["CRITICAL"], "status": ["OPEN", "ANALYZING"]}})
    await asyncio.sleep(0.3)  # subscribed from now on

    await ingest(gql, api_a.operator, "EXC-T-LOW", severity="LOW")
    await ingest(gql, api_a.operator, "EXC-T-HOT", severity="CRITICAL")
    (created,) = await client.results(1)
    triage = {"severity": "CRITICAL", "confidence": 0.9}
    await record(gql, api_a.agent, "EXC-T-HOT", "TriageCompleted", triage, {"status": "ANALYZING"})
    (triaged,) = await client.results(1)
    resolving = await record(
        gql, api_a.agent, "EXC-T-HOT", "FeedbackCaptured", {"outcome": "fixed"}, {"status": "RESOLVED"}
    )
    assert resolving["__typename"] == "ExceptionEventRecorded", resolving
    (resolved,) = await client.results(1)

    assert (created["kind"], created["exception"]["exceptionId"], created["matchesFilter"]) == (
        "CREATED",
        "EXC-T-HOT",
        True,
    )
    assert (triaged["kind"], triaged["matchesFilter"]) == ("CHANGED", True)
    assert (resolved["kind"], resolved["matchesFilter"]) == ("RESOLVED", False), "it left the table"
    assert resolved["exception"]["status"] == "RESOLVED"
    assert await client.silent(), "the LOW exception never matched"


async def test_a_bad_key_is_refused_at_connection_init(live_url):
    socket = await connect(live_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer sk_nope"}}))

    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), WAIT)
    assert closed.value.rcvd.code == 4403


async def test_a_revoked_key_closes_its_socket_within_seconds(gql, api_a, clients):
    made = (await gql.data(doc.CREATE_KEY, {"input": {"name": "screen", "role": "VIEWER"}}, key=api_a.admin))[
        "createApiKey"
    ]
    await ingest(gql, api_a.operator, "EXC-L3")
    client = await clients(made["secret"])
    await client.subscribe(TIMELINE, {"exceptionId": "EXC-L3"})
    await client.results(1)

    await gql.data(doc.REVOKE_KEY, {"input": {"keyId": made["apiKey"]["keyId"]}}, key=api_a.admin)

    with pytest.raises(ConnectionClosed) as closed:
        await client.receive(timeout=WAIT)
    assert closed.value.rcvd.code == 4403


async def test_queries_and_mutations_stay_on_http(api_a, clients):
    client = await clients(api_a.viewer)
    await client.subscribe("{ viewer { role } }", {})

    message = await client.receive()
    assert message["type"] == "error"


async def test_sixteen_concurrent_writers_reach_a_subscriber_exactly_once_in_order(factory, api_a, clients, gql):
    writers, per_writer = 16, 4
    exceptions = [(await factory.exception(api_a.tenant_id)).exception_id for _ in range(writers)]
    client = await clients(api_a.viewer)
    await client.subscribe(TABLE, {"filter": None})
    await asyncio.sleep(0.3)
    rng = random.Random(29)

    await asyncio.gather(
        *(
            factory.comment_slowly(api_a.tenant_id, exception_id, per_writer, random.Random(rng.random()), 0.02, 0.003)
            for exception_id in exceptions
        )
    )
    delivered = await client.results(writers * per_writer, timeout=10)

    positions = [item["position"] for item in delivered]
    assert positions == sorted(set(positions)), "in position order, each once"
    assert positions == list(range(positions[0], positions[0] + len(positions))), "without a gap"
    assert await client.silent()


@pytest_asyncio.fixture
async def strict_url(runtime) -> AsyncIterator[str]:
    """A server allowing 2 live subscriptions per key and 2 per socket."""
    async with served_with(runtime, max_subscriptions_per_key=2, max_subscriptions_per_connection=2) as url:
        yield url


async def test_subscriptions_are_limited_per_socket_and_per_key(gql, api_a, strict_url):
    await ingest(gql, api_a.operator, "EXC-LIMIT")
    first = await LiveClient.open(strict_url, api_a.viewer)
    second = await LiveClient.open(strict_url, api_a.viewer)
    try:
        for n in ("1", "2"):
            await first.subscribe(TIMELINE, {"exceptionId": "EXC-LIMIT"}, operation_id=n)
        await first.results(2)
        await first.subscribe(TIMELINE, {"exceptionId": "EXC-LIMIT"}, operation_id="3")
        over_socket = await first.receive()
        await second.subscribe(TIMELINE, {"exceptionId": "EXC-LIMIT"}, operation_id="1")
        over_key = await second.receive()
    finally:
        await first.close()
        await second.close()

    assert over_socket["id"] == "3" and over_socket["type"] == "error"
    assert over_key["payload"]["errors"][0]["extensions"]["code"] == "THROTTLED", over_key


async def test_a_timeline_from_its_start_catches_up_by_its_own_changes_not_the_tenants(
    gql, api_a, clients, factory, count_statements
):
    await ingest(gql, api_a.operator, "EXC-QUIET")
    busy = await factory.exception(api_a.tenant_id)
    await factory.events(api_a.tenant_id, busy.exception_id, 450)  # the tenant's log runs on without it
    client = await clients(api_a.viewer)

    with count_statements as counted:
        await client.subscribe(TIMELINE, {"exceptionId": "EXC-QUIET"})
        (created,) = await client.results(1)
        assert await client.silent()

    assert created["event"]["eventType"] == "ExceptionCreated"
    reads_of_the_log = [s for s in counted.statements if "FROM change_log" in s]
    assert len(reads_of_the_log) <= 3, "its own page, the snapshot's head, then the tenant's tail once"
