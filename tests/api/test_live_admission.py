"""A live subscription obeys what an HTTP request does, on every message: a revoked key or a
suspended tenant stops receiving within a second however busy the tenant is, deliveries are paid
from the tenant's budget, a filter that matches nothing moves with the log instead of reading it
again, and the live side of all tenants holds no more of the pool than its share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from websockets.exceptions import ConnectionClosed

from sentinai.repositories.changes import SCAN_WINDOW
from sentinai.repositories.exceptions import ExceptionFilter
from sentinai.shares import FairShare
from tests.api import documents as doc
from tests.api.helpers import event_item, ingest, record
from tests.api.live import TABLE, TIMELINE, LiveClient, clients, live_url, served_with

pytestmark = pytest.mark.asyncio
__all__ = ["clients", "live_url"]  # fixtures, used by name

WRITE_EVERY = 0.05


async def _steady_writes(gql, key: str, exception_id: str, stop: asyncio.Event) -> None:
    """Comments on `exception_id` every WRITE_EVERY seconds until `stop`: a tenant never idle."""
    n = 0
    while not stop.is_set():
        n += 1
        body = await gql.post(doc.RECORD, {"input": event_item(exception_id, payload={"text": f"busy {n}"})}, key=key)
        if body.get("errors"):  # the tenant was suspended: its writes are refused, its backlog remains
            return
        await asyncio.sleep(WRITE_EVERY)


async def _arrivals_until_closed(client: LiveClient, seconds: float) -> tuple[list[float], int | None]:
    """When each message arrived, and the close code (None: still open after `seconds`)."""
    arrivals: list[float] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            await client.receive(timeout=left)
        except ConnectionClosed as closed:
            return arrivals, closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            break
        arrivals.append(time.monotonic())
    return arrivals, None


async def _watched_while_busy(gql, api, clients, key: str, exception_id: str) -> tuple[LiveClient, asyncio.Event]:
    await ingest(gql, api.operator, exception_id)
    client = await clients(key)
    await client.subscribe(TABLE, {"filter": None, "after": "0"})
    stop = asyncio.Event()
    asyncio.get_running_loop().create_task(_steady_writes(gql, api.agent, exception_id, stop))
    await client.results(5, timeout=10)  # messages are flowing
    return client, stop


async def test_a_revoked_key_receives_nothing_a_second_after_its_revocation_while_its_tenant_writes(
    gql, api_a, clients
):
    made = (await gql.data(doc.CREATE_KEY, {"input": {"name": "wall", "role": "VIEWER"}}, key=api_a.admin))[
        "createApiKey"
    ]
    client, stop = await _watched_while_busy(gql, api_a, clients, made["secret"], "EXC-RV1")
    try:
        await gql.data(doc.REVOKE_KEY, {"input": {"keyId": made["apiKey"]["keyId"]}}, key=api_a.admin)
        revoked_at = time.monotonic()
        arrivals, code = await _arrivals_until_closed(client, 5.0)
    finally:
        stop.set()

    assert code == 4403, "the socket is closed as forbidden, while the writes go on"
    late = [round(at - revoked_at, 3) for at in arrivals if at - revoked_at > 1.0]
    assert late == [], f"messages after the revocation (seconds): {late}"


async def test_a_suspended_tenant_receives_nothing_a_second_after_its_suspension_while_it_writes(gql, api_a, clients):
    client, stop = await _watched_while_busy(gql, api_a, clients, api_a.viewer, "EXC-RV2")
    try:
        suspended = await gql.data(
            doc.SET_TENANT_STATUS,
            {"input": {"tenantId": api_a.tenant_id, "status": "SUSPENDED"}},
            key=gql.admin_token,
        )
        assert suspended["setTenantStatus"]["__typename"] == "TenantSuccess", suspended
        suspended_at = time.monotonic()
        arrivals, code = await _arrivals_until_closed(client, 5.0)
    finally:
        stop.set()

    assert code == 4403
    assert [at for at in arrivals if at - suspended_at > 1.0] == []


async def test_a_filter_that_matches_nothing_moves_with_the_log_instead_of_reading_it_again(factory, tenant_a):
    busy = await factory.exception(tenant_a)
    await factory.events(tenant_a, busy.exception_id, SCAN_WINDOW + 200)
    nobody = ExceptionFilter(owner="nobody")

    positions, rounds = [0], 0
    async with factory.uow(tenant_a, read_only=True) as uow:
        head = await uow.changes.head()
        more = True
        while more:
            found, position, more = await uow.changes.exception_changes(positions[-1], 100, nobody)
            assert found == []
            positions.append(position)
            rounds += 1
        again, at_head, more = await uow.changes.exception_changes(head, 100, nobody)

    assert positions[-1] == head and rounds == 2, "two windows reach the head, matching nothing"
    assert (again, at_head, more) == ([], head, False), "at the head a wake-up reads nothing old"


@pytest_asyncio.fixture
async def thrifty_url(runtime) -> AsyncIterator[str]:
    """A server whose tenants each have a budget of 20 points, restored at 5 a second."""
    async with served_with(runtime, cost_budget=20, cost_restore_rate=5.0, max_query_cost=20) as url:
        yield url


async def test_every_delivery_is_paid_from_the_tenants_budget_and_waits_for_it_when_spent(gql, api_a, thrifty_url):
    await ingest(gql, api_a.operator, "EXC-PAID")
    client = await LiveClient.open(thrifty_url, api_a.viewer)
    try:
        await client.subscribe(TIMELINE, {"exceptionId": "EXC-PAID"})  # 2 points a delivery
        await client.results(1)
        for n in range(20):
            await record(gql, api_a.agent, "EXC-PAID", "CommentAdded", {"text": f"#{n}"})
        started = time.monotonic()
        first_second = await _count_within(client, 1.0)
        rest = await client.results(20 - first_second, timeout=15)
        took = time.monotonic() - started
    finally:
        await client.close()

    assert first_second < 20, "the budget (20 points, 5 a second) cannot pay 40 points at once"
    assert [item["event"]["payload"]["text"] for item in rest] == [f"#{n}" for n in range(first_second, 20)]
    assert took >= 3.0, f"40 points from a budget of about 20 took {took:.1f} s at 5 points a second"


async def _count_within(client: LiveClient, seconds: float) -> int:
    received, deadline = 0, time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            await client.results(1, timeout=left)
        except TimeoutError:
            break
        received += 1
    return received


async def test_a_tenant_waiting_on_its_own_share_never_queues_in_front_of_another():
    share = FairShare(total=2, per_tenant=1)
    order: list[str] = []
    release = asyncio.Event()

    async def hold(tenant_id: str) -> None:
        async with share.slot(tenant_id):
            order.append(tenant_id)
            await release.wait()

    busy = [asyncio.create_task(hold("noisy")) for _ in range(10)]
    await asyncio.sleep(0.01)
    quiet = asyncio.create_task(hold("quiet"))
    await asyncio.sleep(0.01)

    assert order == ["noisy", "quiet"], "the quiet tenant took the second slot at once"
    assert share.held == 2
    release.set()
    await asyncio.gather(*busy, quiet)
    assert share.held == 0 and order.count("noisy") == 10


async def test_many_subscriptions_hold_no_more_connections_than_the_share_and_deliver_one_at_a_time(
    gql, api_a, runtime, clients, monkeypatch
):
    turns_taken = 0
    take_slot = runtime.delivery_turns.slot

    def counted(tenant_id: str):
        nonlocal turns_taken
        turns_taken += 1
        return take_slot(tenant_id)

    monkeypatch.setattr(runtime.delivery_turns, "slot", counted)
    await ingest(gql, api_a.operator, "EXC-SHARE")
    opened = [await clients(api_a.viewer) for _ in range(4)]
    for client in opened:
        for n in range(5):
            await client.subscribe(TIMELINE, {"exceptionId": "EXC-SHARE"}, operation_id=str(n))
    most = most_turns = 0
    sampling = True

    async def sample() -> None:
        nonlocal most, most_turns
        while sampling:
            most = max(most, runtime.live_share.held)
            most_turns = max(most_turns, runtime.delivery_turns.held)
            await asyncio.sleep(0.001)

    sampler = asyncio.create_task(sample())
    for client in opened:
        await client.results(5)
    for n in range(5):
        await record(gql, api_a.agent, "EXC-SHARE", "CommentAdded", {"text": f"{n}"})
    for client in opened:
        await client.results(25, timeout=10)
    sampling = False
    await sampler

    assert 1 <= most <= runtime.settings.live_reads_per_tenant <= runtime.settings.live_pool_share
    assert turns_taken >= 4 * 25 and most_turns <= 1, "each delivery waits for the tenant's one turn"


async def test_tables_with_one_filter_read_the_log_once_per_commit_not_once_each(gql, api_a, clients, count_statements):
    await ingest(gql, api_a.operator, "EXC-TABLES")
    client = await clients(api_a.viewer)
    tables = 20
    for n in range(tables):
        await client.subscribe(TABLE, {"filter": {"owner": "nobody"}}, operation_id=str(n))
    await asyncio.sleep(0.5)  # every table has read up to the head

    with count_statements as counted:
        await record(gql, api_a.agent, "EXC-TABLES", "CommentAdded", {"text": "one commit"})
        await asyncio.sleep(1.0)

    reads_of_the_log = [s for s in counted.statements if "FROM change_log" in s and "INSERT" not in s]
    assert len(reads_of_the_log) <= 4, f"{tables} tables read the log {len(reads_of_the_log)} times for one commit"
    assert await client.silent()


async def _key_expiring_in(gql, api, seconds: float) -> dict:
    expires_at = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    made = await gql.data(
        doc.CREATE_KEY, {"input": {"name": "short-lived", "role": "VIEWER", "expiresAt": expires_at}}, key=api.admin
    )
    return made["createApiKey"]


async def test_an_expired_key_receives_nothing_a_second_after_its_expiry_while_its_tenant_writes(gql, api_a, clients):
    made = await _key_expiring_in(gql, api_a, 3.0)
    expires_at = (
        time.monotonic() + (datetime.fromisoformat(made["apiKey"]["expiresAt"]) - datetime.now(UTC)).total_seconds()
    )
    client, stop = await _watched_while_busy(gql, api_a, clients, made["secret"], "EXC-EXP")
    try:
        arrivals, code = await _arrivals_until_closed(client, 8.0)
    finally:
        stop.set()

    assert code == 4403
    assert arrivals and arrivals[0] < expires_at, "it delivered while the key was valid"
    assert [at for at in arrivals if at - expires_at > 1.0] == []


async def test_a_key_works_until_its_expiry_and_is_refused_after_it(gql, api_a):
    made = await _key_expiring_in(gql, api_a, 1.0)
    viewer = "{ viewer { role } }"

    before = await gql.post(viewer, key=made["secret"])
    await asyncio.sleep(1.2)
    after = await gql.post(viewer, key=made["secret"], status=401)

    assert before["data"]["viewer"]["role"] == "VIEWER"
    assert after["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_key_cannot_be_created_already_expired(gql, api_a):
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    answer = await gql.data(
        doc.CREATE_KEY, {"input": {"name": "dead", "role": "VIEWER", "expiresAt": an_hour_ago}}, key=api_a.admin
    )

    refused = answer["createApiKey"]
    assert refused["__typename"] == "ValidationFailed" and refused["field"] == "expiresAt", refused


async def test_a_revocation_closes_every_socket_of_the_key_at_once_not_at_its_next_check(gql, api_a, clients):
    made = (await gql.data(doc.CREATE_KEY, {"input": {"name": "idle", "role": "VIEWER"}}, key=api_a.admin))[
        "createApiKey"
    ]
    await ingest(gql, api_a.operator, "EXC-IDLE")
    sockets = [await clients(made["secret"]) for _ in range(3)]
    for socket in sockets:
        await socket.subscribe(TIMELINE, {"exceptionId": "EXC-IDLE"})
        await socket.results(1)  # then idle: nothing more to deliver

    await gql.data(doc.REVOKE_KEY, {"input": {"keyId": made["apiKey"]["keyId"]}}, key=api_a.admin)
    revoked_at = time.monotonic()
    codes = [(await _arrivals_until_closed(socket, 3.0))[1] for socket in sockets]
    closed_within = time.monotonic() - revoked_at

    assert codes == [4403, 4403, 4403]
    assert closed_within < 0.5, f"closed {closed_within:.2f} s after the revocation, not at the next idle check"
