"""Fair shares per tenant of what one process has: pool connections, and turns on its event loop.

Live subscriptions work when their tenant commits, not when a client asks, and a tenant can hold
hundreds of them. Left alone they take what HTTP requests need:
- **connections**: each wake-up reads, and 200 subscriptions queued with HTTP requests for the
  same pool cut another tenant's reads from 300 a second to 7 (issue 20);
- **the event loop**: one commit woke 200 subscriptions whose deliveries (executing the selection,
  encoding, sending) then ran back to back, and another tenant's request waited behind all of
  them.

A `FairShare` caps what such work may hold at once — in all, so HTTP always keeps the rest, and per
tenant, so one tenant's backlog waits behind itself. The tenant's own gate is taken first, so a
tenant waiting for its turn never sits on a shared slot it cannot use yet; a tenant with `per_tenant`
waiters in the shared queue takes no more places in it, so tenants take turns at the shared slots.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class _TenantGate:
    semaphore: asyncio.Semaphore
    users: int = 0


class FairShare:
    def __init__(self, total: int, per_tenant: int) -> None:
        self.total, self.per_tenant = total, per_tenant
        self._slots = asyncio.Semaphore(total)
        self._tenants: dict[str, _TenantGate] = {}
        self.held = 0
        """Slots held now (for metrics and tests)."""

    def others_than(self, tenant_id: str) -> bool:
        """Whether another tenant holds or waits for a slot."""
        return any(other != tenant_id for other in self._tenants)

    @asynccontextmanager
    async def slot(self, tenant_id: str) -> AsyncIterator[None]:
        """Hold one of the share's slots for `tenant_id` while the block runs."""
        gate = self._tenants.setdefault(tenant_id, _TenantGate(asyncio.Semaphore(self.per_tenant)))
        gate.users += 1
        try:
            async with gate.semaphore, self._slots:
                self.held += 1
                try:
                    yield
                finally:
                    self.held -= 1
        finally:
            gate.users -= 1
            if gate.users == 0:
                del self._tenants[tenant_id]


class Foreground:
    """HTTP requests in flight in this process, so that background work (live deliveries) can
    give way to them for a moment.

    A delivery that finds a request running waits until none is, or `patience` seconds at most:
    interactive reads of every tenant keep their latency while a tenant's commit wakes hundreds
    of subscriptions, and a busy API still delivers (each delivery waits once, boundedly)."""

    def __init__(self) -> None:
        self.running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        self.running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.running -= 1
            if self.running == 0:
                self._idle.set()

    @property
    def busy(self) -> bool:
        return self.running > 0

    async def give_way(self, patience: float) -> None:
        if self.running == 0:
            return
        try:
            async with asyncio.timeout(patience):
                await self._idle.wait()
        except TimeoutError:
            pass


class LoopShare:
    """How much of this process's event loop each tenant's live deliveries may use while others
    need it: `share` of every second, measured (a delivery is charged the time from its turn to
    its message).

    Pool slots and one-at-a-time turns bound what a tenant holds; this bounds what it takes. A
    commit that wakes 200 subscriptions costs about 200 ms of one process's time: taken at once,
    every other tenant's request waits behind it. Held to its share, the tenant's own deliveries
    wait (in order, none dropped) and everyone else's requests keep their latency. The share is
    work-conserving: with nobody else waiting, a tenant's deliveries run at full speed, and the
    debt one tenant can carry into a contended moment is one second's share."""

    def __init__(self, share: float, burst_seconds: float = 0.05) -> None:
        self.share, self.burst = share, burst_seconds
        self._balances: dict[str, tuple[float, float]] = {}

    async def wait_for_turn(self, tenant_id: str, contended: Callable[[], bool] = lambda: True) -> None:
        """Sleep until `tenant_id` has time left, or nobody else needs the loop (`contended`)."""
        while (owed := -self._balance(tenant_id)) > 0 and contended():
            await asyncio.sleep(min(owed / self.share, 0.05))

    def charge(self, tenant_id: str, seconds: float) -> None:
        self._balances[tenant_id] = (max(-self.share, self._balance(tenant_id) - seconds), time.monotonic())

    def _balance(self, tenant_id: str) -> float:
        balance, updated = self._balances.get(tenant_id, (self.burst, time.monotonic()))
        now = time.monotonic()
        balance = min(self.burst, balance + (now - updated) * self.share)
        self._balances[tenant_id] = (balance, now)
        return balance
