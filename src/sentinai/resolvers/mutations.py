"""How every mutation field runs: one unit of work, committed once, typed failures."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry
from strawberry import Info

from sentinai import telemetry
from sentinai.context import Context
from sentinai.db.faults import is_retryable
from sentinai.errors import DomainError
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.schema.errors import MutationErrors, to_schema_error

log = logging.getLogger(__name__)
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
    operation: Callable[[UnitOfWork], Awaitable[R]],
    present: Callable[[R], S],
    *,
    platform: bool = False,
    idempotent: bool = False,
) -> S | MutationErrors:
    """Run `operation` in its own transaction. An expected failure rolls everything back
    and becomes a typed result; anything else propagates (and is masked).

    An `idempotent` operation (one whose replay is a no-op: ingestion, events by id) is run
    again, in a new transaction, after a lost connection, a pool timeout, a serialization
    failure or a deadlock — up to 5 attempts with full-jitter backoff, inside the request's
    deadline.
    """
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
    return present(value)
