"""How every mutation field runs: one unit of work, committed once, typed failures."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy.exc import DBAPIError
from strawberry import Info

from sentinai import telemetry
from sentinai.config import Settings
from sentinai.context import Context
from sentinai.db.faults import is_retryable, sqlstate_of
from sentinai.errors import DomainError, ValidationError
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.schema.errors import MutationErrors, to_schema_error
from sentinai.schema.exceptions import MAX_BATCH_ITEMS
from sentinai.services.idempotency import KeyedRequest, Replayed, keyed_request, run_keyed
from sentinai.services.intake import StaleBatchError

log = logging.getLogger(__name__)
I = TypeVar("I")  # noqa: E741 - an item, beside R, S and T
R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")

Input = Annotated[
    T, strawberry.argument(description="What to do; every field is validated before anything is written.")
]
"""The single `input` argument every mutation takes (Relay's input-object convention)."""


MAX_ATTEMPTS = 5
FIRST_BACKOFF, MAX_BACKOFF = 0.05, 1.0


async def run_mutation(
    info: Info[Context, None],
    operation: Callable[[UnitOfWork], Awaitable[R | Replayed[R]]],
    present: Callable[[R], S],
    *,
    platform: bool = False,
    idempotent: bool = False,
    keyed_by: object | None = None,
) -> S | MutationErrors:
    """Run `operation` in its own transaction. An expected failure rolls everything back
    and becomes a typed result; anything else propagates (and is masked).

    `keyed_by` is the mutation's input: when its `idempotency_key` is set, the operation runs
    once per key in its scope (`services.idempotency.run_keyed`), and a request sent again
    answers what the first one did. An operation answering `Replayed` (a decision taken before,
    a key seen before) is presented like the first answer, with `replayed` set.

    An `idempotent` operation (one whose replay is a no-op: ingestion, events by id, and every
    keyed request) is run again, in a new transaction, after a lost connection, a pool timeout,
    a serialization failure or a deadlock — up to 5 attempts with full-jitter backoff, inside
    the request's deadline.
    """
    try:
        request = _keyed_request(info, keyed_by)
    except DomainError as error:
        return to_schema_error(error)
    if request is not None:
        operation, idempotent = _keyed(request, operation), True
    context = info.context
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with context.writer(platform=platform) as uow:
                value = await operation(uow)
                await uow.commit()
            break
        except DomainError as error:
            return to_schema_error(error)
        except Exception as error:
            if not (idempotent and attempt < MAX_ATTEMPTS and is_retryable(error)):
                raise
            log.warning("retrying %s after %s (attempt %d)", info.field_name, type(error).__name__, attempt)
            telemetry.RETRIES.labels(info.field_name).inc()
            await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF, FIRST_BACKOFF * 2**attempt)))
    await context.reset_reads()
    return _answer(value, present)


def _keyed_request(info: Info[Context, None], keyed_by: object | None) -> KeyedRequest | None:
    if keyed_by is None:
        return None
    runtime = info.context.runtime
    settings = runtime.settings if runtime is not None else Settings()
    hours = settings.idempotency_retention_hours
    actor = info.context.principal.actor.id
    return keyed_request(info.field_name, actor, keyed_by, timedelta(hours=hours))


def _keyed(
    request: KeyedRequest, operation: Callable[[UnitOfWork], Awaitable[R | Replayed[R]]]
) -> Callable[[UnitOfWork], Awaitable[R | Replayed[R]]]:
    async def once_per_key(uow: UnitOfWork) -> R | Replayed[R]:
        return await run_keyed(uow, request, operation)

    return once_per_key


def _answer(value: R | Replayed[R], present: Callable[[R], S]) -> S:
    if not isinstance(value, Replayed):
        return present(value)
    answer = present(value.value)
    answer.replayed = True  # type: ignore[attr-defined] - every success type of a keyed mutation has it
    return answer


async def run_batch(
    info: Info[Context, None],
    items: Sequence[I],
    operation: Callable[[UnitOfWork, Sequence[I]], Awaitable[list[R | DomainError]]],
    present: Callable[[R], S],
    *,
    prepare: Callable[[UnitOfWork], Awaitable[None]] | None = None,
) -> list[S | MutationErrors] | MutationErrors:
    """Run `operation` on all the items at once, in one transaction: it answers each item with
    its result or its expected failure (which must have written nothing); the items that
    succeeded commit together. `prepare` runs first, once per attempt (to take locks).

    `operation` must give each item the answer it would give it alone: it is what runs each item
    on its own, in its own savepoint, when the whole batch fails in the database (a trigger
    refusing a row, a constraint) or loses a race for a new row (StaleBatchError): correctness
    never depends on the set-based path. Every item must be idempotent: a transient fault retries the whole batch
    (see `run_mutation`).
    """
    if len(items) > MAX_BATCH_ITEMS:
        return to_schema_error(ValidationError("input.items", f"at most {MAX_BATCH_ITEMS} items, got {len(items)}"))

    async def every_item(uow: UnitOfWork) -> list[S | MutationErrors]:
        if prepare is not None:
            await prepare(uow)  # before the savepoint: rolling it back would release the locks
        try:
            async with uow.savepoint():
                answers = await operation(uow, items)
        except (DBAPIError, StaleBatchError) as error:
            if is_retryable(error):
                raise
            log.warning("%s: one item at a time after %s", info.field_name, sqlstate_of(error) or repr(error))
            telemetry.BATCH_FALLBACKS.labels(info.field_name).inc()
            return await _items_in_savepoints(uow, items, _one_at_a_time(operation), present)
        return [to_schema_error(answer) if isinstance(answer, DomainError) else present(answer) for answer in answers]

    return await run_mutation(info, every_item, lambda results: results, idempotent=True)


def _one_at_a_time(
    operation: Callable[[UnitOfWork, Sequence[I]], Awaitable[list[R | DomainError]]],
) -> Callable[[UnitOfWork, I], Awaitable[R]]:
    async def one(uow: UnitOfWork, item: I) -> R:
        (answer,) = await operation(uow, [item])
        if isinstance(answer, DomainError):
            raise answer
        return answer

    return one


class _ItemFailedError(Exception):
    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(index)
        self.index, self.error = index, error


async def _items_in_savepoints(
    uow: UnitOfWork, items: Sequence[I], operation: Callable[[UnitOfWork, I], Awaitable[R]], present: Callable[[R], S]
) -> list[S | MutationErrors]:
    """Each item all-or-nothing, with as few savepoints as that takes (the batch's fallback).

    A savepoint per item would cost two round trips per item, while the tenant's timeline locks
    are held, and more than 64 of them in one transaction slow every other snapshot (PostgreSQL's
    subtransaction cache overflows). So consecutive items share one savepoint; when an item
    fails, the savepoint is rolled back, the items before it in that savepoint run again in one
    of their own, and the next savepoint starts after it. With f failed items: 2f + 1 savepoints,
    and no item runs more than twice (their replays find the same locked rows, so they end the
    same way; if one did not, it would be one more failure, handled alike).
    """
    results: dict[int, S | MutationErrors] = {}
    failed: set[int] = set()
    start, stop = 0, len(items)
    while start < len(items):
        try:
            async with uow.savepoint():
                for index in range(start, stop):
                    if index not in failed:
                        results[index] = await _item(uow, index, items[index], operation, present)
        except _ItemFailedError as failure:
            failed.add(failure.index)
            results[failure.index] = to_schema_error(failure.error)
            start, stop = (failure.index + 1, len(items)) if failure.index == start else (start, failure.index)
            continue
        start, stop = stop, len(items)
    return [results[index] for index in range(len(items))]


async def _item(
    uow: UnitOfWork, index: int, item: I, operation: Callable[[UnitOfWork, I], Awaitable[R]], present: Callable[[R], S]
) -> S:
    try:
        return present(await operation(uow, item))
    except DomainError as error:
        raise _ItemFailedError(index, error) from error
