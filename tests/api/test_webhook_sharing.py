"""No tenant can hold up another's webhooks, and no change is sent twice: rounds run concurrently
within each tenant's share, a round gives way after its time, and processes sharing the database
never deliver one endpoint's changes twice or out of order, however long a round lasts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from sentinai.services.webhook_delivery import WebhookDispatcher
from tests.api.helpers import ingest
from tests.api.webhooks import ENDPOINTS, dispatching, receiving, register

pytestmark = pytest.mark.asyncio


@contextlib.asynccontextmanager
async def running(*dispatchers: WebhookDispatcher) -> AsyncIterator[None]:
    """Each dispatcher's loop, as each process of `sentinai serve --workers N` runs one."""
    tasks = [asyncio.create_task(dispatcher.run()) for dispatcher in dispatchers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition` held (or `within` when it never did)."""
    started = time.monotonic()
    while not condition() and time.monotonic() - started < within:
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_tenants_slow_receiver_does_not_delay_another_tenants_webhooks(gql, api_a, api_b, session_factory):
    async with receiving(delay=0.5) as slow, receiving() as quick, dispatching(session_factory, poll_seconds=0.05) as d:
        await register(gql, api_a.admin, slow.url)  # registered first: due first
        for n in range(6):
            await ingest(gql, api_a.operator, f"EXC-S{n}")
        await register(gql, api_b.admin, quick.url)
        await ingest(gql, api_b.operator, "EXC-Q")

        async with running(d):
            waited = await until(lambda: bool(quick.received), within=5)
            slow_so_far = len(slow.received)

    assert quick.received and waited < 1.5, f"tenant b waited {waited:.1f} s"
    assert slow_so_far < 6, "tenant a's round was still under way"


async def test_one_tenant_holds_at_most_its_share_of_concurrent_rounds(gql, api_a, session_factory):
    async with receiving(delay=0.3) as receiver, dispatching(session_factory, concurrency_per_tenant=2) as d:
        for _ in range(3):
            await register(gql, api_a.admin, receiver.url)
        await ingest(gql, api_a.operator, "EXC-S7")

        first = await d.deliver_due()
        await d.deliver_due()

    assert receiver.most_in_hand == 2 and first >= 2
    ingested = [m for m in receiver.messages() if m["data"]["exceptionId"] == "EXC-S7"]
    assert len(ingested) == 3, "the third endpoint's turn came next"


async def test_a_round_gives_way_after_its_time_and_resumes_where_it_stopped(gql, api_a, session_factory):
    async with receiving(delay=0.3) as receiver, dispatching(session_factory, round_seconds=0.2) as d:
        made = await register(gql, api_a.admin, receiver.url)
        for n in range(3):
            await ingest(gql, api_a.operator, f"EXC-S8-{n}")

        await d.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])
        after_one_round = list(receiver.positions())
        await d.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])

    assert len(after_one_round) == 1
    assert receiver.positions()[:2] == [after_one_round[0], after_one_round[0] + 1]
    (endpoint,) = (await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"]
    assert endpoint["failedAttempts"] == 0, "giving way is not a failure"


async def test_two_processes_deliver_every_change_exactly_once_in_order_when_a_round_outlasts_a_lease(
    gql, api_a, session_factory
):
    policy = {"poll_seconds": 0.02, "timeout_seconds": 0.5, "lease_margin_seconds": 0.25}  # a claim lasts 0.75 s
    async with (
        receiving(delay=0.15) as receiver,
        dispatching(session_factory, **policy) as one,
        dispatching(session_factory, **policy) as two,
    ):
        made = await register(gql, api_a.admin, receiver.url)
        for n in range(12):  # a round of 12 × 0.15 s = 1.8 s
            await ingest(gql, api_a.operator, f"EXC-S9-{n}")
        head = await _head(gql, api_a.admin)

        async with running(one, two):
            await until(lambda: bool(receiver.received) and receiver.positions()[-1] >= head, within=10)
            await asyncio.sleep(0.5)  # time for a duplicate to arrive

    start = made["endpoint"]["position"]
    assert receiver.positions() == list(range(start + 1, head + 1))


async def _head(gql, key: str) -> int:
    return (await gql.data("{ changes(first: 1) { totalCount } }", key=key))["changes"]["totalCount"]
