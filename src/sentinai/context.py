"""The per-request GraphQL context: the caller, its loaders and its units of work.

Reads share one read-only REPEATABLE READ transaction opened on first use, so a request
sees one consistent snapshot. Each mutation field opens its own unit of work, commits
once, and then resets the reads so its payload shows what it just wrote.

A request ends with `close()`, on every path (success, failure, cancellation): it waits for
the loader batches still running, closes the read transaction, and from then on refuses to
open another, so nothing of a finished request holds a connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from sentinai.auth import Principal
from sentinai.db.session import Scope
from sentinai.errors import ForbiddenError
from sentinai.loaders import Loaders
from sentinai.repositories.unit_of_work import UnitOfWork

GIVE_WAY_SECONDS = 0.02
"""How long a live delivery waits for HTTP requests in flight to finish before it runs anyway."""


class RequestEndedError(RuntimeError):
    """Something tried to read after its request had ended (a straggling loader batch)."""


@dataclass
class Context:
    request: HTTPConnection | None
    response: Any
    principal: Principal
    session_factory: async_sessionmaker[AsyncSession]
    forget_credentials: Callable[[], None] = lambda: None
    """Drops this process's cached key lookups (after a revocation or a tenant status change)."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    """The request's clock: every SLA computation in one request uses the same instant."""
    runtime: Any = None
    """The process's long-lived resources (`api.app.Runtime`): authenticator, change notifier, clock."""
    connection_params: dict[str, Any] | None = None
    """A WebSocket's `connection_init` payload (Strawberry sets it)."""
    authorization: str | None = None
    """A WebSocket's credential, checked again while its subscriptions live."""
    cost: int | None = None
    """The operation's price, once `api.query_cost` has priced it (what a prepared read remembers)."""
    delivery_cost: int | None = None
    """A subscription's price for each message it delivers: its selection's, not its text's (the
    text is parsed once, when it starts, and paid then)."""
    budget: Any = None
    """The tenant's cost budget (`api.query_cost.TokenBucket`) the operation was charged to: what a
    live subscription pays each delivery from."""
    share: Callable[[], AbstractAsyncContextManager[None]] | None = None
    """A live operation's share of the pool (`shares`): held while its reads hold a connection."""
    _held: AbstractAsyncContextManager[None] | None = None
    _turn: AbstractAsyncContextManager[None] | None = None
    _turn_started: float = 0.0
    _reader: UnitOfWork | None = None
    _reader_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: Loaders | None = None
    _ended: bool = False

    @property
    def tenant_scope(self) -> Scope:
        if self.principal.tenant_id is None:
            raise ForbiddenError("this field needs a tenant's API key; the platform admin has no tenant")
        return Scope.tenant(self.principal.tenant_id)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.reader)
        return self._loaders

    async def reader(self) -> UnitOfWork:
        """The request's read-only unit of work, in the caller's scope, opened once."""
        async with self._reader_lock:
            if self._ended:
                raise RequestEndedError("this request has ended; its reads are closed")
            if self._reader is None:
                scope = Scope.platform() if self.principal.is_platform_admin else self.tenant_scope
                held = await self._hold_share()
                reader = UnitOfWork(self.session_factory, scope, read_only=True)
                try:
                    await reader.__aenter__()
                except BaseException:
                    await self._release_share(held)
                    raise
                self._reader, self._held = reader, held
            return self._reader

    async def _hold_share(self) -> AbstractAsyncContextManager[None] | None:
        if self.share is None:
            return None
        held = self.share()
        await held.__aenter__()
        return held

    @staticmethod
    async def _release_share(held: AbstractAsyncContextManager[None] | None) -> None:
        if held is not None:
            await held.__aexit__(None, None, None)

    def writer(self, *, platform: bool = False) -> UnitOfWork:
        """A new unit of work for one mutation field; the caller commits it."""
        scope = Scope.platform() if platform else self.tenant_scope
        return UnitOfWork(self.session_factory, scope)

    def for_operation(self) -> Context:
        """A fresh context for one operation of a WebSocket: same caller, its own reads and loaders."""
        return Context(
            self.request,
            self.response,
            self.principal,
            self.session_factory,
            forget_credentials=self.forget_credentials,
            now=self.runtime.clock() if self.runtime is not None else datetime.now(UTC),
            runtime=self.runtime,
            authorization=self.authorization,
            share=self._live_share(),
        )

    def _live_share(self) -> Callable[[], AbstractAsyncContextManager[None]] | None:
        tenant_id = self.principal.tenant_id
        if self.runtime is None or tenant_id is None:
            return None
        return partial(self.runtime.live_share.slot, tenant_id)

    async def take_turn(self) -> None:
        """Wait for the tenant's turn to deliver a live message (`shares`): held until `end_turn`,
        which `api.extensions.CloseReads` calls once the message is complete, before it is sent."""
        if self.runtime is None or self.principal.tenant_id is None:
            return
        tenant_id = self.principal.tenant_id
        turn = self.runtime.delivery_turns.slot(tenant_id)
        await turn.__aenter__()
        self._turn = turn
        runtime = self.runtime
        await runtime.loop_share.wait_for_turn(
            tenant_id, lambda: runtime.foreground.busy or runtime.delivery_turns.others_than(tenant_id)
        )
        await self.runtime.foreground.give_way(GIVE_WAY_SECONDS)
        self._turn_started = time.monotonic()

    async def end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            self.runtime.loop_share.charge(self.principal.tenant_id, time.monotonic() - self._turn_started)
            await turn.__aexit__(None, None, None)

    async def reset_reads(self) -> None:
        """Forget what this request has read: its next read starts a new snapshot (after a
        write, whose payload must show the write; or after an abandoned planned read)."""
        await self._close_reads()
        self._loaders = None

    async def close(self) -> None:
        """End the request: no read runs after this returns, and none can start."""
        self._ended = True
        await self.end_turn()
        if self._loaders is not None:
            await self._loaders.settle()
        await self._close_reads()

    async def _close_reads(self) -> None:
        async with self._reader_lock:
            reader, self._reader = self._reader, None
            held, self._held = self._held, None
        try:
            if reader is not None:
                await reader.__aexit__(None, None, None)
        finally:
            await self._release_share(held)
