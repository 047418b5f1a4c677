"""Latency and SQL statement count of the Co-Pilot context query (docs/copilot.md).

    .venv/bin/python bench/copilot_context.py --data demo          # the quick start's demo data
    .venv/bin/python bench/copilot_context.py --data 100000        # 20 tenants x 5,000 exceptions x 10 events

Runs the documented query in-process (ASGI, no socket) against an embedded PostgreSQL in
--dir (kept between runs, so the 100,000-exception load happens once) and prints p50/p95
latency and the statements per request. A figure printer, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from pathlib import Path

import httpx
from sqlalchemy import event

from sentinai.api.app import Runtime, create_app
from sentinai.config import Settings
from sentinai.db import models
from sentinai.db.embedded import prepare_embedded_database, start_embedded_server
from sentinai.db.migrations import upgrade_database
from sentinai.db.session import Scope
from sentinai.domain.actors import PLATFORM_ADMIN
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.seeding.bulk import SeedPlan, seed_bulk
from sentinai.seeding.demo import demo_exists, seed_demo
from sentinai.services.configuration import create_api_key

DOC = Path(__file__).resolve().parents[1] / "docs" / "copilot.md"


async def _prepare(data: str, directory: Path) -> tuple[Runtime, str, str]:
    server = start_embedded_server(directory)
    embedded = await prepare_embedded_database(server.get_uri())
    await upgrade_database(embedded.owner_url, embedded.runtime_url)
    runtime = Runtime.build(
        Settings(
            database_url=embedded.runtime_url,
            migration_database_url=embedded.owner_url,
            max_query_cost=100_000,
            cost_budget=10**9,
            cost_restore_rate=10**9,
        )
    )
    if data == "demo":
        tenant, exception_id = "northbank", "STL-2026-00010"
        if not await demo_exists(runtime.session_factory):
            await seed_demo(runtime.session_factory)
    else:
        tenant, exception_id = "bench-001", "EXC-0000042"
        async with UnitOfWork(runtime.session_factory, Scope.platform(), read_only=True) as uow:
            loaded = await uow.tenants.get(tenant) is not None
        if not loaded:
            started = time.perf_counter()
            dsn = embedded.owner_url.set(drivername="postgresql").render_as_string(hide_password=False)
            await seed_bulk(dsn, SeedPlan(20, int(data) // 20, 10, prefix="bench"))
            print(f"loaded {data} exceptions in {time.perf_counter() - started:.1f} s")
    async with UnitOfWork(runtime.session_factory, Scope.platform()) as uow:
        _, key = await create_api_key(uow, PLATFORM_ADMIN, "bench", models.ApiKeyRole.VIEWER, platform_target=tenant)
        await uow.commit()
    return runtime, key, exception_id


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="demo", help="'demo' or a number of exceptions (multiple of 20)")
    parser.add_argument("--dir", default="/tmp/sentinai-bench-copilot")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    runtime, key, exception_id = await _prepare(args.data, Path(args.dir) / args.data)
    query = re.search(r"```graphql\n(.*?)```", DOC.read_text(), re.S).group(1)
    statements: list[str] = []
    event.listen(runtime.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    headers = {"Authorization": f"Bearer {key}"}
    body = {"query": query, "variables": {"exceptionId": exception_id}}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(10):  # warm-up: key cache, prepared statements
            answer = (await client.post("/graphql", json=body, headers=headers)).json()
            assert "errors" not in answer, json.dumps(answer)[:500]
        statements.clear()
        latencies = []
        for _ in range(args.requests):
            started = time.perf_counter()
            await client.post("/graphql", json=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
    context = answer["data"]["exception"]
    latencies.sort()
    print(
        f"Co-Pilot context query on {args.data} data ({exception_id}): "
        f"p50 {statistics.median(latencies):.1f} ms, p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms, "
        f"{len(statements) / args.requests:.1f} SQL statements per request "
        f"({len(context['events']['nodes'])} events, {len(context['similar'])} similar cases, "
        f"{len(context['entityHistory']['nodes'])} history entries)"
    )
    await runtime.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
