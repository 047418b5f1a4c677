"""The unit of work: one transaction, one scope, the repositories that work inside it.

The caller owns the transaction: `async with UnitOfWork(...) as uow:` rolls back on
leaving unless `await uow.commit()` was called. Repositories flush, never commit.

GraphQL resolves sibling fields concurrently, and one AsyncSession must never run two
statements at once, so every statement goes through `execute`, which holds a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cached_property
from typing import Any, TypeVarTuple, overload

from sqlalchemy import Executable, Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.selectable import TypedReturnsRows

from sentinai import telemetry
from sentinai.db import models
from sentinai.db.session import Scope, enter_scope
from sentinai.repositories.api_keys import ApiKeyRepository
from sentinai.repositories.audit import AuditLogRepository
from sentinai.repositories.changes import ChangeLogRepository
from sentinai.repositories.documents import DocumentRepository
from sentinai.repositories.events import ExceptionEventRepository
from sentinai.repositories.exceptions import ExceptionRepository
from sentinai.repositories.history import HistoryRepository
from sentinai.repositories.idempotency import IdempotencyRepository
from sentinai.repositories.insights import InsightRepository
from sentinai.repositories.packs import DomainPackRepository, PolicyPackRepository
from sentinai.repositories.playbooks import PlaybookRepository
from sentinai.repositories.related import RelatedRowRepository
from sentinai.repositories.remediation import RemediationPlanRepository
from sentinai.repositories.tenants import TenantRepository
from sentinai.repositories.tools import ToolRepository
from sentinai.repositories.webhooks import WebhookRepository

CONNECT_ATTEMPTS = 3
"""Each attempt gets another pooled connection (or a new one); after a server restart the
pool discards all connections older than the first failure, so the second attempt succeeds."""

Ts = TypeVarTuple("Ts")

OutboundPublisher = Callable[[list[models.ExceptionEvent]], Awaitable[None]]
"""Hands committed events to the outside (a message bus in a later phase); runs after commit."""


class UnitOfWork:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        scope: Scope,
        *,
        read_only: bool = False,
        publisher: OutboundPublisher | None = None,
    ) -> None:
        self._publisher = publisher
        self._session_factory = session_factory
        self.scope = scope
        self.read_only = read_only
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        # Events to emit once the transaction commits (seed §6.1 step 4); see `committed_events`.
        self.outbound: list[models.ExceptionEvent] = []

    @property
    def tenant_id(self) -> str:
        if self.scope.tenant_id is None:
            raise PermissionError("this unit of work is not scoped to a tenant")
        return self.scope.tenant_id

    async def __aenter__(self) -> UnitOfWork:
        # Reads see one snapshot for the whole request; writes use READ COMMITTED plus row locks.
        options: dict[str, Any] = (
            {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True} if self.read_only else {}
        )
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            self._session = self._session_factory()
            try:
                with telemetry.POOL_WAITING.track_inprogress():
                    await self._session.connection(execution_options=options)
                await enter_scope(self._session, self.scope)
                return self
            except DBAPIError as error:
                await self._session.close()
                # The pool does not ping before lending a connection (three round trips per
                # request); a connection the server dropped shows up here instead, on the first
                # statement, before any work. The pool has discarded it: try a fresh one.
                if not error.connection_invalidated or attempt == CONNECT_ATTEMPTS:
                    raise
            except BaseException:
                await self._session.close()
                raise
        raise AssertionError("unreachable")

    async def __aexit__(self, *exc_info: object) -> None:
        # close() rolls back whatever was not committed, and (unlike rollback()) leaves the
        # loaded rows readable after the unit of work ends. It waits for a statement still in
        # flight: when one GraphQL field fails, graphql-core finishes the operation while sibling
        # resolvers may still be running, and the connection must not return to the pool busy.
        assert self._session is not None
        async with self._lock:
            self._closed = True
            await self._session.close()

    async def commit(self) -> None:
        async with self._lock:
            self._check_open()
            await self.session.commit()
        if self._publisher is not None and self.outbound:
            await self._publisher(list(self.outbound))
        self.outbound.clear()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A part of the transaction that can fail alone: an exception raised inside undoes its
        writes and its outbound events (ROLLBACK TO SAVEPOINT) and propagates; the transaction
        and the parts before it stay. Cancellation leaves the undoing to `__aexit__`."""
        async with self._lock:
            self._check_open()
            nested = await self.session.begin_nested()
        sent = len(self.outbound)
        try:
            yield
        except Exception:
            async with self._lock:
                await nested.rollback()
                # Rows read inside may be gone or different now, yet SQLAlchemy keeps them in the
                # identity map (they were loaded, not modified, so the rollback does not expire
                # them): later reads must not be answered from it. Rows already handed out stay
                # readable, detached.
                self.session.expunge_all()
            del self.outbound[sent:]
            raise
        async with self._lock:
            await nested.commit()

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._session

    @overload
    async def execute(self, statement: TypedReturnsRows[*Ts], params: Any = None) -> Result[*Ts]: ...

    @overload
    async def execute(self, statement: Executable, params: Any = None) -> Result[*tuple[Any, ...]]: ...

    async def execute(self, statement: Executable, params: Any = None) -> Result[*tuple[Any, ...]]:
        """Run one statement. A caller cancelled while it runs stops waiting, but the statement
        itself runs to its end: interrupting it mid-protocol would leave the connection unusable
        for the fields that share it, and `__aexit__` waits for it anyway."""
        return await asyncio.shield(self._execute(statement, params))

    async def _execute(self, statement: Executable, params: Any) -> Result[*tuple[Any, ...]]:
        async with self._lock:
            self._check_open()
            return await self.session.execute(statement, params)

    def _check_open(self) -> None:
        # A closed AsyncSession would silently begin a new transaction without the scope's role.
        if self._closed:
            raise RuntimeError("this unit of work has ended")

    async def scalar(self, statement: Executable, params: Any = None) -> Any:
        return (await self.execute(statement, params)).scalar()

    async def flush(self, *instances: object) -> None:
        async with self._lock:
            self._check_open()
            self.session.add_all(instances)
            await self.session.flush()

    # Repositories: built on first use, all sharing this transaction and scope.
    @cached_property
    def tenants(self) -> TenantRepository:
        return TenantRepository(self)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self)

    @cached_property
    def exceptions(self) -> ExceptionRepository:
        return ExceptionRepository(self)

    @cached_property
    def events(self) -> ExceptionEventRepository:
        return ExceptionEventRepository(self)

    @cached_property
    def domain_packs(self) -> DomainPackRepository:
        return DomainPackRepository(self)

    @cached_property
    def policy_packs(self) -> PolicyPackRepository:
        return PolicyPackRepository(self)

    @cached_property
    def playbooks(self) -> PlaybookRepository:
        return PlaybookRepository(self)

    @cached_property
    def tools(self) -> ToolRepository:
        return ToolRepository(self)

    @cached_property
    def remediation_plans(self) -> RemediationPlanRepository:
        return RemediationPlanRepository(self)

    @cached_property
    def audit(self) -> AuditLogRepository:
        return AuditLogRepository(self)

    @cached_property
    def changes(self) -> ChangeLogRepository:
        return ChangeLogRepository(self)

    @cached_property
    def webhooks(self) -> WebhookRepository:
        return WebhookRepository(self)

    @cached_property
    def insights(self) -> InsightRepository:
        return InsightRepository(self)

    @cached_property
    def documents(self) -> DocumentRepository:
        return DocumentRepository(self)

    @cached_property
    def history(self) -> HistoryRepository:
        return HistoryRepository(self)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self)

    @cached_property
    def related(self) -> RelatedRowRepository:
        return RelatedRowRepository(self)
