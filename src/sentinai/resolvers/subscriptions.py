"""Live subscriptions over the change log: a timeline, and the Operations Center's table.

Each subscription reads the log by position in short read-only transactions, delivers what it
found, and then sleeps until the process's one LISTEN connection says its tenant committed
something (`db.notifications`). Reading by position, not by notification, is what makes a lost
notification a delay instead of a loss, and a reconnect with the last position seen resume
without a gap or a repeat.

A subscription obeys what an HTTP request does, on every message, not only at its start:
- its key is checked again before a delivery whenever the last check is RECHECK_SECONDS old,
  from a lookup at most as old (so at most 0.8 s together), right before the delivery runs (after
  any wait for its turn or its budget), so no message goes out more than a second after a revocation,
  a suspension or an expiry, however busy the tenant (and while it sleeps, every second);
- each delivery pays the operation's price from the tenant's cost budget, and each read of the
  log one point: a tenant that spends its budget waits for it, as its HTTP requests would;
- its reads hold one of the pool's live slots (`shares`), so the live side of all tenants
  together never takes the connections HTTP requests need, and one tenant's backlog waits behind
  its own;
- a delivery (executing the selection, encoding) waits for its tenant's turn on the event loop:
  one tenant's deliveries run one at a time, so a commit that wakes 200 of them interleaves with
  other tenants' requests instead of running ahead of them all.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable, Iterable
from contextlib import asynccontextmanager, nullcontext, suppress
from dataclasses import replace
from datetime import UTC, datetime
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
RECHECK_SECONDS = 0.4
"""How old a subscription's last credential check (and the lookup behind it) may be when it delivers."""
IDLE_CHECK_SECONDS = 1.0
READ_PRICE = 1
"""What one read of the log costs the tenant's budget, whatever it finds."""
SAFETY_READ_SECONDS = 30.0
"""Read the log even without a notification this often (a missed wake-up costs at most this)."""

T = TypeVar("T")


class SubscriptionLimitError(DomainError):
    code = "THROTTLED"


Read = Callable[[int], Awaitable[tuple[list[T], int, bool]]]
"""What is after a position: the items to deliver, the last position scanned, whether more follow."""


class TenantTail:
    """A tenant's changes after a position, read once per wake-up for every live subscription
    that asks the same question at that position: a thousand timelines, or a thousand tables with
    one filter, on one tenant cost one statement per commit, not a thousand.

    A page read after the tenant's wake-up count reached n has seen every commit notified up to
    n, so a subscriber woken at n may take it instead of reading again. Pages are kept only for
    the latest few questions.
    """

    KEPT = 16
    FRESH_SECONDS = 5.0
    """A page is not reused after this long, so a read without a wake-up (the safety read after a
    lost notification) goes to the database."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.pages: OrderedDict[Hashable, tuple[int, float, Any]] = OrderedDict()

    async def after(self, question: Hashable, generation: int, read: Callable[[], Awaitable[T]]) -> T:
        """What `read` answers to `question` (which names the position), or a page read since
        the tenant's wake-up count reached `generation`."""
        async with self.lock:
            kept = self.pages.get(question)
            if kept is not None and kept[0] >= generation and time.monotonic() - kept[1] < self.FRESH_SECONDS:
                return kept[2]
            answer = await read()
            self.pages[question] = (generation, time.monotonic(), answer)
            self.pages.move_to_end(question)
            while len(self.pages) > self.KEPT:
                self.pages.popitem(last=False)
            return answer


@asynccontextmanager
async def reading(context: Context) -> AsyncIterator[UnitOfWork]:
    """A short read-only transaction on one of the live share's connections: a live subscription
    never holds one while it waits."""
    async with context.share() if context.share is not None else nullcontext():
        async with UnitOfWork(context.session_factory, context.tenant_scope, read_only=True) as uow:
            yield uow


class Admission:
    """What a subscription passes before each read and each delivery: its credential still holds,
    and the tenant's budget pays the price."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.checked_at = time.monotonic()

    async def pay(self, price: float) -> bool:
        """Wait until the tenant's budget holds `price` and take it. False (the socket is closed)
        once the credential no longer holds, checked before returning and while waiting."""
        budget = self.context.budget
        price = min(price, budget.capacity) if budget is not None else price
        while budget is not None and not budget.take(price, time.monotonic()):
            await asyncio.sleep(min(RECHECK_SECONDS, max(0.01, budget.seconds_until(price))))
            if not await self.allowed():
                return False
        return await self.allowed()

    async def allowed(self) -> bool:
        fresh = time.monotonic() - self.checked_at < RECHECK_SECONDS
        if fresh and not self.context.principal.expired(datetime.now(UTC)):
            return True
        if not await _still_allowed(self.context):
            return False
        self.checked_at = time.monotonic()
        return True


async def live(info: Info[Context, None], start: int, read: Read[T]) -> AsyncGenerator[T, None]:
    """What `read` finds after `start`, then after each later commit of the caller's tenant, forever."""
    context = info.context
    runtime, principal = context.runtime, context.principal
    key = principal.key_id
    if runtime.subscriptions[key] >= runtime.settings.max_subscriptions_per_key:
        limit = runtime.settings.max_subscriptions_per_key
        raise SubscriptionLimitError(f"this API key already holds {limit} live subscriptions in this process")
    runtime.subscriptions[key] += 1
    runtime.live_contexts[id(context)] = context
    position, tenant_id = start, context.tenant_scope.tenant_id
    admission, delivery_price = Admission(context), context.delivery_cost or 1
    try:
        with runtime.notifier.watch(tenant_id) as woken:
            while True:
                woken.clear()  # before reading: a commit after the read wakes us again
                await context.reset_reads()  # the next batch's fields read a new snapshot
                context.now = runtime.clock()
                if not await admission.pay(READ_PRICE):
                    return
                items, position, more = await read(position)
                for item in items:
                    await context.take_turn()  # first: the checks below hold at the moment it runs
                    if not await admission.pay(delivery_price):
                        return
                    yield item
                    await context.end_turn()  # already ended when the message was complete
                if not more and not await _woken(admission, woken):
                    return
    finally:
        runtime.live_contexts.pop(id(context), None)
        runtime.subscriptions[key] -= 1
        if runtime.subscriptions[key] <= 0:
            del runtime.subscriptions[key]
        if not runtime.notifier.watching(tenant_id):
            runtime.tails.pop(tenant_id, None)  # its pages are of no use to anyone now


async def _woken(admission: Admission, woken: asyncio.Event) -> bool:
    """Wait for a commit (or the safety interval); False once the credential no longer holds."""
    waited_since = time.monotonic()
    while time.monotonic() - waited_since < SAFETY_READ_SECONDS:
        try:
            async with asyncio.timeout(IDLE_CHECK_SECONDS):
                await woken.wait()
            return True
        except TimeoutError:
            if not await admission.allowed():
                return False
    return True


async def _still_allowed(context: Context) -> bool:
    try:
        await context.runtime.authenticator.authenticate(context.authorization, max_age=RECHECK_SECONDS)
    except (AuthenticationError, ForbiddenError) as refused:
        with suppress(RuntimeError):  # another subscription of the socket closed it first
            await context.response.close(4403, f"Forbidden: {refused.message}"[:120])
        return False
    return True


async def recheck_sockets(contexts: Iterable[Context]) -> None:
    """Every live socket checks its key now (after a revocation or a tenant's status change was
    announced): a subscription waiting for its turn or its budget is closed at once too, not when
    it next wakes. One check per socket; one lookup per key (`auth.Authenticator`)."""
    sockets = {id(context.response): context for context in contexts}
    await asyncio.gather(*(_still_allowed(context) for context in sockets.values()), return_exceptions=True)


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
        context = info.context
        tenant_id = context.tenant_scope.tenant_id
        tail = context.runtime.tails.setdefault(tenant_id, TenantTail())

        caught_up = False

        async def read(position: int) -> tuple[list[Any], int, bool]:
            """Catch up on this exception's own changes, then follow the tenant's shared tail."""
            nonlocal caught_up
            if not caught_up:
                async with reading(context) as uow:
                    mine, position, more = await uow.changes.of_exception(position, BATCH, exception_id)
                caught_up = not more
                return mine, position, more

            async def from_database() -> tuple[list[Any], bool]:
                async with reading(context) as uow:
                    return await uow.changes.after_with_events(position, BATCH)

            generation = context.runtime.notifier.generation(tenant_id)
            rows, more = await tail.after(("timeline", position), generation, from_database)
            mine = [(change, event) for change, event in rows if change.exception_id == exception_id]
            return mine, (rows[-1][0].position if rows else position), more

        async for change, event in live(info, position_of("after", after), read):
            yield ChangeType.from_row(change, event)

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
        context = info.context
        tail = context.runtime.tails.setdefault(context.tenant_scope.tenant_id, TenantTail())

        async def read(position: int) -> tuple[list[Any], int, bool]:
            """The table's changes after `position`, shared with every table of the same filter
            there (a filter on SLA states is judged at each subscriber's own instant: not shared)."""
            where = repository_filter(filter, context.now)

            async def from_database() -> tuple[list[Any], int, bool]:
                async with reading(context) as uow:
                    return await uow.changes.exception_changes(position, BATCH, where)

            if where.sla_states:
                return await from_database()
            question = ("table", repr(replace(where, now=None)), position)
            generation = context.runtime.notifier.generation(context.tenant_scope.tenant_id)
            return await tail.after(question, generation, from_database)

        repository_filter(filter, info.context.now)  # a bad filter is refused before anything streams
        if after is None:
            async with reading(info.context) as uow:
                start = await uow.changes.head()
        else:
            start = position_of("after", after)
        async for found in live(info, start, read):
            yield ExceptionChangeType.from_rows(found.change, found.exception, found.event, found.matches)
