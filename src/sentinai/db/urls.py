"""PostgreSQL URLs as users paste them (libpq's query parameters), handed to asyncpg.

SQLAlchemy's asyncpg dialect passes every query parameter as a keyword argument of
`asyncpg.connect`, which knows none of libpq's names: `?sslmode=require` would be a
TypeError. asyncpg does read libpq's parameters from a connection string, so they travel
in one (`connect_args["dsn"]`, holding only them); the explicit host, user and database
SQLAlchemy passes take precedence over it. The rest are mapped by name or refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
READ_BY_SQLALCHEMY = frozenset({"host", "port"})  # a unix socket directory, several hosts
READ_BY_ASYNCPG = frozenset(  # from a connection string, as asyncpg.connect_utils parses it
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcrl",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "passfile",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
    }
)
MAPPED = frozenset({"connect_timeout", "application_name"})
SUPPORTED = READ_BY_SQLALCHEMY | READ_BY_ASYNCPG | MAPPED


def unsupported_parameter(url: URL) -> str | None:
    """Why `url`'s query cannot be used, in one sentence; None when it can."""
    for name, value in _parameters(url).items():
        if name not in SUPPORTED:
            return f"parameter {name!r} is not supported (supported: {', '.join(sorted(SUPPORTED))})"
        if name == "sslmode" and value not in SSL_MODES:
            return f"sslmode must be one of {', '.join(SSL_MODES)}, got {value!r}"
        if name == "connect_timeout" and not value.isdigit():
            return f"connect_timeout must be a whole number of seconds, got {value!r}"
    return None


def engine_arguments(url: URL) -> tuple[URL, dict[str, Any]]:
    """`url` keeping only what SQLAlchemy reads, and the `connect_args` carrying the rest."""
    parameters = _parameters(url)
    connect_args: dict[str, Any] = {}
    libpq = {name: value for name, value in parameters.items() if name in READ_BY_ASYNCPG}
    if libpq:
        connect_args["dsn"] = "postgresql://?" + urlencode(libpq)
    if "connect_timeout" in parameters:
        connect_args["timeout"] = float(parameters["connect_timeout"])
    if "application_name" in parameters:
        connect_args["server_settings"] = {"application_name": parameters["application_name"]}
    kept = {name: value for name, value in url.query.items() if name in READ_BY_SQLALCHEMY}
    return url.set(query=kept), connect_args


def open_engine(url: URL, **options: Any) -> AsyncEngine:
    """`create_async_engine` for a libpq-style URL. The URL's `application_name` wins over one
    in `options["connect_args"]["server_settings"]`, which is a default."""
    plain, from_url = engine_arguments(url)
    given = options.pop("connect_args", {})
    settings = {**given.get("server_settings", {}), **from_url.get("server_settings", {})}
    connect_args = {**given, **from_url} | ({"server_settings": settings} if settings else {})
    return create_async_engine(plain.render_as_string(hide_password=False), connect_args=connect_args, **options)


def asyncpg_dsn(url: URL) -> str:
    """A connection string for `asyncpg.connect`, which reads libpq's parameters itself
    except `connect_timeout` (it would send it to the server as a setting)."""
    query = {name: value for name, value in url.query.items() if name != "connect_timeout"}
    return url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


def _parameters(url: URL) -> dict[str, str]:
    """The query as name → value; a repeated name keeps its last value, as libpq does."""
    return {name: value if isinstance(value, str) else value[-1] for name, value in url.query.items()}
