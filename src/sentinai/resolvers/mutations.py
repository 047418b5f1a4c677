"""How every mutation field runs: one unit of work, committed once, typed failures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry

from sentinai.errors import DomainError
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.schema.errors import to_schema_error

R = TypeVar("R")
T = TypeVar("T")

Input = Annotated[
    T, strawberry.argument(description="What to do; every field is validated before anything is written.")
]
"""The single `input` argument every mutation takes (Relay's input-object convention)."""


async def run_mutation(
    info: strawberry.Info,
    operation: Callable[[UnitOfWork], Awaitable[R]],
    present: Callable[[R], Any],
    *,
    uow: UnitOfWork | None = None,
) -> Any:
    """Run `operation` in its own transaction. An expected failure rolls everything back
    and becomes a typed result; anything else propagates (and is masked)."""
    context = info.context
    try:
        uow = uow or context.writer()
        async with uow:
            value = await operation(uow)
            await uow.commit()
    except DomainError as error:
        return to_schema_error(error)
    await context.after_write()
    return present(value)
