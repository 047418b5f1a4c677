"""One read statement in a read-only snapshot of its own, run straight on the driver.

A unit of work (`repositories.unit_of_work`) costs more Python per request than PostgreSQL spends
on a detail view: an ORM session, its transaction bookkeeping, and four round trips (BEGIN, the
scope, the statement, ROLLBACK). A prepared read (`api.prepared`) is one statement known in
advance, so it runs here instead, on a pooled connection's asyncpg connection, in three round
trips: BEGIN together with the scope (one simple-protocol message, the same role and tenant
`session.enter_scope` sets, transaction-local as there), the statement, ROLLBACK.

Whatever interrupts it (an error, a cancellation) discards the connection instead of returning
it to the pool: a connection that may still be inside this transaction, with this tenant's
scope, must never serve another request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from sentinai import telemetry
from sentinai.db.session import Scope, entering_scope_text


@dataclass(frozen=True)
class DriverStatement:
    """A SQLAlchemy statement compiled once into the driver's SQL and its parameters' order."""

    sql: str
    parameters: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: Mapping[str, Any]
    """Values the statement binds itself (literals SQLAlchemy made parameters)."""

    @classmethod
    def compiled(cls, statement: Select[Any], dialect: Dialect) -> DriverStatement:
        compiled = statement.compile(dialect=dialect)
        # An IN list's values are expanded into parameters when SQLAlchemy executes; here once, at
        # compile time (their number is part of the statement's structure, so the cached statement
        # always has as many). The parameters bound per request are None until `arguments`.
        per_request = {name: None for name, bind in compiled.binds.items() if bind.required}
        expanded = compiled.construct_expanded_state(per_request)
        names = tuple(expanded.positiontup or ())
        processors = [expanded.processors.get(name) for name in names]
        # A tuple type's processors are a sequence (IN of tuples): read statements here have none.
        assert all(processor is None or callable(processor) for processor in processors)
        return cls(
            expanded.statement,
            names,
            tuple(processor for processor in processors if processor is None or callable(processor)),
            dict(expanded.parameters),
        )

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, processor in zip(self.parameters, self.processors):
            value = values[name] if name in values else self.defaults[name]
            arguments.append(processor(value) if processor is not None else value)
        return arguments


async def fetch_row(engine: AsyncEngine, scope: Scope, statement: DriverStatement, values: Mapping[str, Any]) -> Any:
    """The statement's one row, read in `scope` in a snapshot of its own."""
    arguments = statement.arguments(values)
    begin = f"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {entering_scope_text(scope)}"
    announce = engine.sync_engine.dispatch.before_cursor_execute
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            # Statement observers (tracing, the tests' counters) see these as they see the unit of
            # work's: the scope and the statement, not the transaction's end.
            announce(None, None, begin, (), None, False)
            await driver.execute(begin)
            announce(None, None, statement.sql, arguments, None, False)
            span = telemetry.start_statement_span(statement.sql)
            try:
                row = await driver.fetchrow(statement.sql, *arguments)
            except Exception as error:
                telemetry.statement_failed(error)
                raise
            finally:
                if span is not None:
                    span.end()
            await driver.execute("ROLLBACK")
        except BaseException:
            await connection.invalidate()
            raise
    return row
