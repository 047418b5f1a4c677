"""Test fixtures: a real PostgreSQL built by the real migrations.

With DATABASE_URL set, a fresh database is created on that server for the run; otherwise
an embedded PostgreSQL starts in a temporary directory and is deleted afterwards. Tests do
not clean up: each one creates its own tenants with unique ids, and row-level security
keeps them from seeing each other.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sentinai.config import Settings, normalise_database_url
from sentinai.db.embedded import RUNTIME_LOGIN, ensure_runtime_login, postmasters_under, start_embedded_server
from sentinai.db.engine import create_engine, create_session_factory
from sentinai.db.migrations import upgrade_database
from tests.factories import Factory

# Property-based tests run the same examples on every run (a fixed seed, no example database),
# so CI is reproducible; a failure prints the shrunk example, which then becomes a named test.
hypothesis_settings.register_profile("sentinai", derandomize=True, database=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "sentinai"))


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory for this run's embedded PostgreSQL, removed at the end.

    Set up first, it is torn down last: by then no postmaster may still run on a data
    directory of this run, here or under pytest's `tmp_path`s (where the tests that start
    `sentinai serve` keep theirs). One found is reported, then stopped.
    """
    root = Path(tempfile.mkdtemp(prefix="sentinai-tests-", dir="/tmp"))  # short: unix socket paths
    yield root
    leftovers = postmasters_under(root) + postmasters_under(tmp_path_factory.getbasetemp())
    for pid in leftovers:
        os.kill(pid, signal.SIGTERM)  # a postmaster's "fast shutdown"
    shutil.rmtree(root, ignore_errors=True)
    assert not leftovers, f"the tests left PostgreSQL running: pids {leftovers}"


@pytest.fixture(scope="session")
def server_url(scratch: Path) -> Iterator[URL]:
    """A superuser URL on the server the tests use (its `postgres` database)."""
    external = os.environ.get("DATABASE_URL")
    if external:
        owner = os.environ.get("MIGRATION_DATABASE_URL") or external
        yield normalise_database_url(owner).set(database="postgres")
        return
    server = start_embedded_server(scratch / "server", delete_at_exit=True)
    server.psql(
        "ALTER SYSTEM SET fsync = off;\nALTER SYSTEM SET synchronous_commit = off;\n"
        "ALTER SYSTEM SET full_page_writes = off;\nSELECT pg_reload_conf();"
    )
    yield normalise_database_url(server.get_uri())
    server.cleanup()


async def create_database(server: URL, name: str) -> URL:
    connection = await asyncpg.connect(_libpq(server))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server.set(database=name)


async def drop_database(server: URL, name: str) -> None:
    connection = await asyncpg.connect(_libpq(server))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest_asyncio.fixture(scope="session")
async def database(server_url: URL) -> AsyncIterator[Settings]:
    """Settings pointing at a freshly migrated database, used through the runtime login."""
    name = f"sentinai_test_{os.getpid()}"
    owner_url = await create_database(server_url, name)
    superuser = await asyncpg.connect(_libpq(server_url))
    try:
        await ensure_runtime_login(superuser)
    finally:
        await superuser.close()
    runtime_url = owner_url.set(username=RUNTIME_LOGIN)
    await upgrade_database(owner_url, runtime_url)
    yield Settings(database_url=runtime_url, migration_database_url=owner_url, db_pool_size=20)
    await drop_database(server_url, name)


@pytest_asyncio.fixture(scope="session")
async def engine(database: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest_asyncio.fixture
async def platform_rows(database: Settings) -> AsyncIterator[None]:
    """For a test that writes rows every tenant sees (global tools, domain packs): they are
    removed when it ends, so no other test finds them in its lists and counts stay exact."""
    owner = await asyncpg.connect(_libpq(database.owner_url))
    try:
        tools = await owner.fetchval("SELECT coalesce(max(tool_id), 0) FROM tool_definition")
        packs = await owner.fetchval("SELECT coalesce(max(id), 0) FROM domain_pack_version")
        yield
        created = "SELECT tool_id FROM tool_definition WHERE tenant_id IS NULL AND tool_id > $1"
        await owner.execute(f"UPDATE playbook_step SET tool_id = NULL WHERE tool_id IN ({created})", tools)
        await owner.execute(created.replace("SELECT tool_id FROM", "DELETE FROM"), tools)
        await owner.execute("DELETE FROM domain_pack_version WHERE id > $1", packs)
    finally:
        await owner.close()


@pytest.fixture
def factory(session_factory: async_sessionmaker[AsyncSession]) -> Factory:
    return Factory(session_factory)


@pytest_asyncio.fixture
async def tenant_a(factory: Factory) -> str:
    return await factory.tenant("a")


@pytest_asyncio.fixture
async def tenant_b(factory: Factory) -> str:
    return await factory.tenant("b")


class StatementCounter:
    """Counts SQL statements sent through an engine while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.active = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if self.active:
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def __enter__(self) -> StatementCounter:
        self.statements.clear()
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False


@pytest.fixture
def count_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", counter)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


ADMIN_TOKEN = "test-platform-admin-token-0123456789"


class TestClock:
    """The API's clock in tests: real time unless a test freezes it."""

    def __init__(self) -> None:
        self.frozen = None

    def __call__(self):
        from datetime import datetime

        return self.frozen or datetime.now(UTC)


@pytest.fixture(scope="session")
def session_clock() -> TestClock:
    return TestClock()


@pytest.fixture
def clock(session_clock: TestClock) -> Iterator[TestClock]:
    yield session_clock
    session_clock.frozen = None


@pytest.fixture(scope="session")
def runtime(database: Settings, engine: AsyncEngine, session_clock: TestClock):
    from sentinai.api.app import Runtime

    settings = Settings(**{**database.__dict__, "admin_token": ADMIN_TOKEN, "auth_cache_seconds": 0.0})
    built = Runtime.build(settings, engine)
    built.clock = session_clock
    return built


@pytest_asyncio.fixture(scope="session")
async def gql(runtime) -> AsyncIterator:
    import httpx

    from sentinai.api.app import create_app
    from tests.graphql_client import GraphQLClient

    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sentinai.test") as http:
        yield GraphQLClient(http, ADMIN_TOKEN)


@pytest_asyncio.fixture(scope="session")
async def resolvers_only(runtime) -> AsyncIterator:
    """An app over the same database and clock with the one-statement planner off: every field is
    resolved in Python. The differential tests send each document to it and to `gql`."""
    from dataclasses import replace

    import httpx

    from sentinai.api.app import Runtime, create_app
    from tests.graphql_client import GraphQLClient

    settings = replace(runtime.settings, document_reads=False)
    twin = Runtime(settings, runtime.engine, runtime.session_factory, runtime.authenticator, runtime.clock)
    transport = httpx.ASGITransport(app=create_app(runtime=twin))
    async with httpx.AsyncClient(transport=transport, base_url="http://sentinai.test") as http:
        yield GraphQLClient(http, ADMIN_TOKEN)


async def _api_tenant(factory: Factory, label: str):
    from sentinai.db import models
    from sentinai.domain.actors import PLATFORM_ADMIN
    from sentinai.services.configuration import create_api_key
    from tests.graphql_client import ApiTenant

    tenant = ApiTenant(await factory.tenant(label))
    async with factory.uow(tenant.tenant_id) as uow:
        for role in models.ApiKeyRole:
            _, tenant.keys[role] = await create_api_key(uow, PLATFORM_ADMIN, f"{role.value}-key", role)
        await uow.commit()
    return tenant


@pytest_asyncio.fixture
async def api_a(factory: Factory):
    return await _api_tenant(factory, "a")


@pytest_asyncio.fixture
async def api_b(factory: Factory):
    return await _api_tenant(factory, "b")
