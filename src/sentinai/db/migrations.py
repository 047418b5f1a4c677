"""Apply the Alembic migrations from code, and grant the runtime login its roles."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from alembic import command
from sentinai.db.urls import open_engine

PROJECT_ROOT = Path(__file__).resolve().parents[3]
APPLICATION_ROLES = ("sentinai_app", "sentinai_platform", "sentinai_auth")


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run(connection: Connection, verb: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, verb)(config, revision)


async def run_alembic(connection: AsyncConnection, verb: str = "upgrade", revision: str = "head") -> None:
    """Run `alembic <verb> <revision>` on a live connection (inside a running event loop)."""
    await connection.run_sync(_run, verb, revision)


async def current_revision(connection: AsyncConnection) -> str | None:
    def read(sync_connection: Connection) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()

    return await connection.run_sync(read)


async def database_revision(engine) -> str | None:
    """The schema revision, read through the least-privileged role (for readiness checks)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT set_config('role', 'sentinai_auth', true)"))
        return await current_revision(connection)


async def upgrade_database(owner_url: URL, runtime_url: URL) -> None:
    """Migrate to head as the owner, then let the runtime login switch into the app roles.

    The login gets each role WITH INHERIT FALSE: it holds no privilege of its own and
    must `set_config('role', …, true)` in every transaction (see `db.session`).
    """
    engine = open_engine(owner_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('sentinai-migrate'))"))
            await run_alembic(connection)
            if runtime_url.username and runtime_url.username != owner_url.username:
                await grant_runtime_login(connection, runtime_url.username)
    finally:
        await engine.dispose()


async def grant_runtime_login(connection: AsyncConnection, login: str) -> None:
    quoted = '"' + login.replace('"', '""') + '"'
    roles = ", ".join(APPLICATION_ROLES)
    await connection.execute(text(f"GRANT {roles} TO {quoted} WITH INHERIT FALSE, SET TRUE"))


def split_sql_script(script: str) -> list[str]:
    """Split a SQL file into statements, keeping `$$ … $$` bodies whole.

    asyncpg prepares every statement, and a prepared statement holds one command only.
    """
    statements, current, in_body = [], [], False
    for line in script.splitlines():
        if line.strip().startswith("--") and not in_body:
            continue
        current.append(line)
        in_body ^= line.count("$$") % 2 == 1
        if not in_body and line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip())
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current).strip())
    return statements
