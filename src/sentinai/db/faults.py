"""Telling database faults a retry may cure from errors in the request itself."""

from __future__ import annotations

import asyncpg
import sqlalchemy.exc

# Serialization failure and deadlock: the transaction may succeed if run again.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def root_cause(error: BaseException) -> BaseException:
    """The driver's or the OS's own exception under SQLAlchemy's wrappers."""
    while (inner := getattr(error, "orig", None) or error.__cause__) is not None and inner is not error:
        error = inner
    return error


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE PostgreSQL answered with, wherever the wrappers put it; None if it did not answer."""
    while True:
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate
        inner = getattr(error, "orig", None) or error.__cause__
        if inner is None or inner is error:
            return None
        error = inner


def is_unavailable(error: BaseException | None) -> bool:
    """A failure of the database connection (not of the statement): retrying later may succeed."""
    if isinstance(error, sqlalchemy.exc.TimeoutError):  # the connection pool stayed exhausted
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    original = getattr(error, "orig", error)
    cause = getattr(original, "__cause__", None)
    return isinstance(original, OSError | ConnectionError) or isinstance(
        cause, asyncpg.exceptions.ConnectionDoesNotExistError | asyncpg.exceptions.CannotConnectNowError | OSError
    )


def is_retryable(error: BaseException) -> bool:
    """Worth running the whole (idempotent) transaction again: a lost connection, a pool
    timeout, a serialization failure or a deadlock."""
    if is_unavailable(error):
        return True
    sqlstate = sqlstate_of(error)
    return sqlstate in RETRYABLE_SQLSTATES or (isinstance(sqlstate, str) and sqlstate.startswith("08"))
