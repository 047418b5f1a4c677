"""Find or start the database a command should use, and bring its schema to head.

With DATABASE_URL set, that server is used (migrations run as MIGRATION_DATABASE_URL
when given). Without it, the embedded PostgreSQL under SENTINAI_DATA_DIR is started or
attached to, so `sentinai serve`, `sentinai tenant create` and friends share one database.
"""

from __future__ import annotations

from sentinai.config import Settings
from sentinai.db.embedded import prepare_embedded_database, start_embedded_server
from sentinai.db.migrations import upgrade_database


async def resolve_database(settings: Settings) -> Settings:
    """Settings with concrete database URLs, starting the embedded server when needed."""
    if not settings.uses_embedded_database:
        return settings
    server = start_embedded_server(settings.data_dir)
    embedded = await prepare_embedded_database(server.get_uri())
    return settings.with_database(embedded.runtime_url, embedded.owner_url)


async def migrate(settings: Settings) -> None:
    assert settings.database_url is not None
    await upgrade_database(settings.owner_url, settings.database_url)
