"""Find or start the database a command should use, and bring its schema to head.

With DATABASE_URL set, that server is used (migrations run as MIGRATION_DATABASE_URL
when given). Without it, the embedded PostgreSQL under SENTINAI_DATA_DIR is started or
attached to, so `sentinai serve`, `sentinai tenant create` and friends share one database.
"""

from __future__ import annotations

from sqlalchemy.pool import NullPool

from sentinai.config import Settings
from sentinai.db.embedded import prepare_embedded_database, start_embedded_server
from sentinai.db.engine import wait_for_database
from sentinai.db.migrations import database_revision, head_revision, upgrade_database
from sentinai.db.urls import open_engine


async def resolve_database(settings: Settings) -> Settings:
    """Settings with concrete database URLs, starting the embedded server when needed."""
    if not settings.uses_embedded_database:
        return settings
    server = start_embedded_server(settings.data_dir)
    embedded = await prepare_embedded_database(server.get_uri())
    return settings.with_database(embedded.runtime_url, embedded.owner_url)


async def wait_until_reachable(settings: Settings) -> None:
    """Wait for the runtime login's database, and the owner's when it is another URL, with
    the configured retries: a command started with its database (compose, a restart) must
    not fail because the server is a moment late."""
    assert settings.database_url is not None
    for url in dict.fromkeys([settings.database_url, settings.owner_url]):
        engine = open_engine(url, poolclass=NullPool)
        try:
            await wait_for_database(engine, settings.db_connect_attempts)
        finally:
            await engine.dispose()


async def is_at_head(settings: Settings) -> bool:
    """Whether the schema is migrated, checked through the runtime login's least role.

    Lets a deployment whose API login cannot migrate (it owns nothing) still run
    `sentinai serve` and the admin commands once the migration job has run.
    """
    assert settings.database_url is not None
    engine = open_engine(settings.database_url, poolclass=NullPool)
    try:
        return await database_revision(engine) == head_revision()
    except Exception:  # no roles or no alembic_version yet: not migrated
        return False
    finally:
        await engine.dispose()


async def migrate(settings: Settings) -> None:
    """Upgrade to head as the owner, unless the schema is already there."""
    assert settings.database_url is not None
    if await is_at_head(settings):
        return
    await upgrade_database(settings.owner_url, settings.database_url)
