"""Live subscriptions over the change log: a timeline, and the Operations Center's table.

Each subscription reads the log by position in short read-only transactions, delivers what it
found, and then sleeps until the process's one LISTEN connection says its tenant committed
something (`db.notifications`). Reading by position, not by notification, is what makes a lost
notification a delay instead of a loss, and a reconnect with the last position seen resume
without a gap or a repeat. While it sleeps it checks its key every few seconds: a revoked key
or a suspended tenant closes the socket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.errors import AuthenticationError, DomainError, ForbiddenError
from sentinai.repositories.changes import position_of
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.resolvers.exceptions import repository_filter
from sentinai.resolvers.permissions import CanRead
from sentinai.schema.changes import ChangeType, ExceptionChangeType
from sentinai.schema.exceptions import ExceptionFilter

BATCH = 100
CREDENTIAL_CHECK_SECONDS = 2.0
SAFETY_READ_SECONDS = 30.0
"""Read the log even without a notification this often (a missed wake-up costs at most this)."""

T = TypeVar("T")


class SubscriptionLimitError(DomainError):
    code = "THROTTLED"


Read = Callable[[UnitOfWork, int], Awaitable[tuple[list[T], int, bool]]]


async def live(info: Info[Context, None], start: int, read: Read[T]) -> AsyncGenerator[T, None]:
    """What `read` finds after `start`, then after each later commit of the caller's tenant, forever."""
    context = info.context
    runtime, principal = context.runtime, context.principal
    key = principal.key_id
    if runtime.subscriptions[key] >= runtime.settings.max_subscriptions_per_key:
        limit = runtime.settings.max_subscriptions_per_key
        raise SubscriptionLimitError(f"this API key already holds {limit} live subscriptions in this process")
    runtime.subscriptions[key] += 1
    position = start
    try:
        with runtime.notifier.watch(context.tenant_scope.tenant_id) as woken:
            while True:
                woken.clear()  # before reading: a commit after the read wakes us again
                async with UnitOfWork(context.session_factory, context.tenant_scope, read_only=True) as uow:
                    items, position, more = await read(uow, position)
                for item in items:
                    yield item
                await context.reset_reads()  # the next batch's fields read a new snapshot
                context.now = runtime.clock()
                if not more and not await _woken(context, woken):
                    return
    finally:
        runtime.subscriptions[key] -= 1
        if runtime.subscriptions[key] <= 0:
            del runtime.subscriptions[key]


async def _woken(context: Context, woken: asyncio.Event) -> bool:
    """Wait for a commit (or the safety interval); False once the credential no longer holds."""
    waited_since = time.monotonic()
    while time.monotonic() - waited_since < SAFETY_READ_SECONDS:
        try:
            async with asyncio.timeout(CREDENTIAL_CHECK_SECONDS):
                await woken.wait()
            return True
        except TimeoutError:
            if not await _still_allowed(context):
                return False
    return True


async def _still_allowed(context: Context) -> bool:
    try:
        await context.runtime.authenticator.authenticate(context.authorization)
    except (AuthenticationError, ForbiddenError) as refused:
        await context.response.close(4403, f"Forbidden: {refused.message}"[:120])
        return False
    return True


@strawberry.type
class ChangeSubscriptions:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description=(
            "An exception's timeline, live: its events after `after` (null: from its first event), then each new "
            "one as it commits, in order, exactly once. Resume after a disconnect with the last `position` you got."
        ),
    )
    async def exception_events(
        self,
        info: Info[Context, None],
        exception_id: Annotated[str, strawberry.argument(description="The tenant's exception id.")],
        after: Annotated[
            str | None, strawberry.argument(description="The position of the last event you have; null: the start.")
        ] = None,
    ) -> AsyncGenerator[ChangeType, None]:
        async def read(uow: UnitOfWork, position: int) -> tuple[list[Any], int, bool]:
            page = await uow.changes.after(position, BATCH, exception_id=exception_id)
            return page.items, (page.items[-1].position if page.items else position), page.has_next_page

        async for row in live(info, position_of("after", after), read):
            yield ChangeType.from_row(row)

    @strawberry.subscription(
        permission_classes=[CanRead],
        description=(
            "The Operations Center table, live: each change (CREATED, CHANGED, RESOLVED) to an exception that "
            "matches `filter` when it is delivered, and each status change that took one out of it "
            "(`matchesFilter: false`). From `after` (null: from now on), in order, exactly once."
        ),
    )
    async def exception_changes(
        self,
        info: Info[Context, None],
        filter: Annotated[ExceptionFilter | None, strawberry.argument(description="Conditions to match.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The position of the last change you have; null: from now on.")
        ] = None,
    ) -> AsyncGenerator[ExceptionChangeType, None]:
        def read_at(now: Any) -> Read[Any]:
            async def read(uow: UnitOfWork, position: int) -> tuple[list[Any], int, bool]:
                return await uow.changes.exception_changes(position, BATCH, repository_filter(filter, now))

            return read

        repository_filter(filter, info.context.now)  # a bad filter is refused before anything streams
        if after is None:
            async with UnitOfWork(info.context.session_factory, info.context.tenant_scope, read_only=True) as uow:
                start = await uow.changes.head()
        else:
            start = position_of("after", after)
        async for found in live(info, start, lambda uow, position: read_at(info.context.now)(uow, position)):
            yield ExceptionChangeType.from_rows(found.change, found.exception, found.event, found.matches)
