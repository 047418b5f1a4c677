"""What one tenant's live work may take of a process: a measured share of the event loop, a moment's
precedence for HTTP requests, and one key lookup however many subscriptions recheck at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from sentinai.auth import Authenticator
from sentinai.shares import Foreground, LoopShare

pytestmark = pytest.mark.asyncio


async def test_a_tenant_that_used_its_share_of_the_loop_waits_and_another_does_not():
    share = LoopShare(0.2, burst_seconds=0.05)
    share.charge("noisy", 0.1)  # a 100 ms delivery: it owes 50 ms beyond its burst

    started = time.monotonic()
    await share.wait_for_turn("quiet")
    quiet_waited = time.monotonic() - started
    await share.wait_for_turn("noisy")
    noisy_waited = time.monotonic() - started - quiet_waited

    assert quiet_waited < 0.01
    assert 0.2 <= noisy_waited < 0.5, "50 ms owed at 0.2 of each second is paid back in 250 ms"


async def test_a_tenant_alone_on_the_loop_is_not_held_back_and_carries_at_most_a_seconds_share_of_debt():
    share = LoopShare(0.2)
    share.charge("alone", 5.0)  # five seconds of deliveries while nobody else needed the loop

    started = time.monotonic()
    await share.wait_for_turn("alone", contended=lambda: False)
    alone_waited = time.monotonic() - started
    await share.wait_for_turn("alone")  # then another tenant needs the loop
    contended_waited = time.monotonic() - started - alone_waited

    assert alone_waited < 0.01
    assert contended_waited < 1.2, "its debt was capped at one second's share (0.2 s, repaid in 1 s)"


async def test_a_tenant_held_to_its_share_gets_about_that_share_of_a_second():
    share, used, ends = LoopShare(0.2), 0.0, time.monotonic() + 1.0
    while time.monotonic() < ends:
        await share.wait_for_turn("busy")
        share.charge("busy", 0.02)  # each delivery "took" 20 ms
        used += 0.02

    assert 0.2 <= used <= 0.2 + 0.05 + 2 * 0.02, f"{used:.2f} s of deliveries in one second (share, burst, debt)"


async def test_a_delivery_gives_way_to_a_request_in_flight_for_a_moment_only():
    foreground = Foreground()

    async def request(seconds: float) -> None:
        async with foreground.request():
            await asyncio.sleep(seconds)

    short = asyncio.create_task(request(0.05))
    await asyncio.sleep(0)
    started = time.monotonic()
    await foreground.give_way(1.0)
    waited_for_short = time.monotonic() - started
    await short

    long = asyncio.create_task(request(1.0))
    await asyncio.sleep(0)
    started = time.monotonic()
    await foreground.give_way(0.05)
    waited_for_long = time.monotonic() - started
    long.cancel()
    await asyncio.gather(long, return_exceptions=True)

    assert 0.03 <= waited_for_short < 0.5, "it waited for the request to end"
    assert waited_for_long < 0.2, "and no longer than its patience"
    assert foreground.running == 0, "a cancelled request is counted out"


async def test_callers_checking_one_key_at_once_share_one_lookup(session_factory, api_a, count_statements):
    authenticator = Authenticator(session_factory, None, cache_seconds=5.0)

    with count_statements as counted:
        principals = await asyncio.gather(
            *(authenticator.authenticate(f"Bearer {api_a.viewer}", max_age=0.5) for _ in range(200))
        )

    assert {p.tenant_id for p in principals} == {api_a.tenant_id}
    assert len([s for s in counted.statements if "FROM api_key" in s]) == 1


async def test_a_revocation_while_a_lookup_runs_is_not_hidden_by_it(session_factory, api_a, count_statements):
    authenticator = Authenticator(session_factory, None, cache_seconds=5.0)
    bearer = f"Bearer {api_a.viewer}"

    before = asyncio.ensure_future(authenticator.authenticate(bearer, max_age=0.5))
    await asyncio.sleep(0)
    authenticator.forget()  # a revocation's notification arrives while the lookup runs
    with count_statements as counted:
        after = await authenticator.authenticate(bearer, max_age=0.5)
    await before

    assert after.tenant_id == api_a.tenant_id
    assert len([s for s in counted.statements if "FROM api_key" in s]) >= 1, "it looked again, not joined"
