"""Alembic environment: async, URL from the environment, or a connection handed in by the caller.

`sentinai db upgrade`, the server's start-up and the tests pass a live connection in
`config.attributes["connection"]`; the plain `alembic` CLI reads MIGRATION_DATABASE_URL
(else DATABASE_URL). Imports stay light: only the ORM models, never the GraphQL schema.
"""

import asyncio
from logging.config import fileConfig

from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from alembic import context
from sentinai.config import Settings
from sentinai.db.models import Base
from sentinai.db.urls import open_engine

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _url_from_environment() -> URL:
    settings = Settings.from_env()
    if settings.uses_embedded_database and settings.migration_database_url is None:
        raise SystemExit(
            "Set DATABASE_URL (or MIGRATION_DATABASE_URL) to run the alembic CLI, "
            "or use `sentinai db upgrade`, which also starts the embedded PostgreSQL."
        )
    return settings.owner_url


async def _run_online() -> None:
    engine = open_engine(_url_from_environment(), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url_from_environment().set(query={}), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run_migrations(given)
else:
    asyncio.run(_run_online())
