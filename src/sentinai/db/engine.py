"""Engine and session factory for the service's runtime login, with start-up retry."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sentinai import telemetry, wire
from sentinai.config import Settings
from sentinai.db.faults import root_cause, sqlstate_of
from sentinai.db.urls import open_engine
from sentinai.domain.validation import json_integer

log = logging.getLogger(__name__)


class DatabaseUnavailableError(RuntimeError):
    """The database could not be reached at start-up after every retry."""


def describe(url: URL) -> str:
    """Where a URL points, without its password: safe for logs and error messages."""
    host = url.host or url.query.get("host") or "localhost"
    return f"{url.username or '?'}@{host}:{url.port or 5432}/{url.database}"


def decode_jsonb(text: str) -> Any:
    """jsonb as PostgreSQL keeps it: a non-integral or long number becomes a Decimal holding the
    exact digits PostgreSQL printed, so the API writes it back unchanged (`1.50`, not `1.5`;
    `0.00000000015`, not `1.5e-10`), as the one-statement path does."""
    return json.loads(text, parse_float=Decimal, parse_int=json_integer)


def encode_json(value: Any) -> str:
    """jsonb parameters, through the one wire encoder (`wire.encode_json`): a number read back
    from jsonb (a Decimal) is written again as its exact digits, never through a float (a 23-digit
    integer came back rounded, and a 401-digit one as `Infinity`, which PostgreSQL refused)."""
    return wire.encode_json(value).decode()


def create_engine(settings: Settings, url: URL | None = None) -> AsyncEngine:
    url = url or settings.database_url
    assert url is not None, "the embedded database must be started before the engine is built"
    engine = open_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        # No pre-ping: it costs BEGIN, a query and ROLLBACK per checkout. A dropped connection is
        # detected by the unit of work's first statement instead, and retried (unit_of_work.py).
        pool_pre_ping=False,
        echo=settings.db_echo,
        json_deserializer=decode_jsonb,
        json_serializer=encode_json,
        connect_args={
            "server_settings": {
                "application_name": "sentinai",
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "lock_timeout": str(min(settings.db_statement_timeout_ms, 5_000)),
                "idle_in_transaction_session_timeout": str(settings.db_statement_timeout_ms * 2),
            },
        },
    )
    telemetry.observe_engine(engine)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# The server answered and said no: the login, its password or the database is wrong, and
# asking again will not change that (the compose stack creates roles before it listens on TCP).
REFUSALS = {"28P01": "password authentication failed", "28000": "login refused", "3D000": "no such database"}


async def wait_for_database(engine: AsyncEngine, attempts: int, first_delay: float = 0.25) -> None:
    """Retry `SELECT 1` with exponential backoff while the server cannot be reached (or is
    starting up); raise a one-line DatabaseUnavailableError when every attempt failed, or at
    once when the server refused the login or the database."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except Exception as error:  # any driver or OS error means "not reachable yet"
            cause = root_cause(error)
            if sqlstate_of(cause) in REFUSALS:
                raise DatabaseUnavailableError(
                    f"PostgreSQL at {describe(engine.url)} refused the connection: {_first_line(cause)}"
                ) from error
            if attempt == attempts:
                raise DatabaseUnavailableError(
                    f"PostgreSQL at {describe(engine.url)} is unreachable after {attempts} attempts: "
                    f"{_first_line(cause)}. Check DATABASE_URL and that the server is running."
                ) from error
            log.warning(
                "database not reachable (attempt %d/%d): %s; retrying in %.2fs",
                attempt,
                attempts,
                _first_line(cause),
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
