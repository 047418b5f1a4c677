"""Fair shares of the connection pool for work that nobody waits on at a request's deadline.

Live subscriptions read the database on every wake-up of their tenant, and a tenant can hold
hundreds of them. Left to the pool, they queue with HTTP requests for the same connections, and
one tenant's subscriptions starve every other tenant's reads (issue 20: 300 reads/s fell to 7/s).
A `PoolShare` caps the connections such work may hold at once — in all, so HTTP always keeps the
rest of the pool, and per tenant, so one tenant's backlog waits behind itself, not in front of
the others. Waiters of one tenant take one place each in the shared queue, at most `per_tenant`
of them at a time, so tenants take turns at the shared slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class _TenantGate:
    semaphore: asyncio.Semaphore
    users: int = 0


class PoolShare:
    def __init__(self, total: int, per_tenant: int) -> None:
        self.total, self.per_tenant = total, per_tenant
        self._slots = asyncio.Semaphore(total)
        self._tenants: dict[str, _TenantGate] = {}
        self.held = 0
        """Slots held now (for metrics and tests)."""

    @asynccontextmanager
    async def slot(self, tenant_id: str) -> AsyncIterator[None]:
        """Hold one of the share's connections for `tenant_id` while the block runs.

        The tenant's own gate is taken first, so a tenant waiting for its turn never sits on a
        shared slot it cannot use yet."""
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
