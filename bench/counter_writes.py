"""Write cost of the counting triggers (alembic/versions/0007_exception_counts.sql).

8 concurrent writers on one tenant, each transaction an ingest (INSERT exception + its
ExceptionCreated event) or a transition (lock, event, UPDATE status),
like the service; run with the counting triggers enabled, then disabled, alternately.

On the 10,000 cluster of an earlier `bench/run.py --scales 10000,...` run (it is started, then stopped):
    SENTINAI_BENCH_SCRATCH=/tmp/bench-counters .venv/bin/python bench/counter_writes.py
"""

import asyncio
import random
import statistics
import sys
import time
import uuid

import asyncpg

sys.path.insert(0, "bench/tools")
import database

WRITERS, SECONDS = 8, 8
STATUSES = ["open", "analyzing", "escalated"]


async def writer(dsn, tenant, seed, stop, lat, ids):
    rng = random.Random(seed)
    con = await asyncpg.connect(dsn)
    try:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            async with con.transaction():
                if not ids or rng.random() < 0.4:
                    eid = f"W-{uuid.uuid4().hex[:12]}"
                    await con.execute(
                        "INSERT INTO exception"
                        " (tenant_id, exception_id, domain, type, severity, status, source_system, entity)"
                        " VALUES ($1, $2, 'Finance', 'Break', $3, 'open', 'Core', 'E')",
                        tenant,
                        eid,
                        rng.choice(["low", "high"]),
                    )
                    await con.execute(
                        "INSERT INTO exception_event (tenant_id, event_id, exception_id, event_type, actor_type)"
                        " VALUES ($1, $2, $3, 'ExceptionCreated', 'system')",
                        tenant,
                        uuid.uuid4(),
                        eid,
                    )
                    fresh = eid
                else:
                    fresh = None
                    eid = rng.choice(ids)
                    await con.execute(
                        "SELECT 1 FROM exception WHERE tenant_id = $1 AND exception_id = $2 FOR UPDATE", tenant, eid
                    )
                    await con.execute(
                        "INSERT INTO exception_event (tenant_id, event_id, exception_id, event_type, actor_type)"
                        " VALUES ($1, $2, $3, 'CommentAdded', 'agent')",
                        tenant,
                        uuid.uuid4(),
                        eid,
                    )
                    await con.execute(
                        "UPDATE exception SET status = $3::exception_status, updated_at = now()"
                        " WHERE tenant_id = $1 AND exception_id = $2",
                        tenant,
                        eid,
                        rng.choice(STATUSES),
                    )
            lat.append(time.perf_counter() - t0)
            if fresh:
                ids.append(fresh)  # committed: another writer may now transition it
    finally:
        await con.close()


async def measure(dsn, enabled):
    con = await asyncpg.connect(dsn)
    action = "ENABLE" if enabled else "DISABLE"
    for name in ("insert", "update"):
        await con.execute(f"ALTER TABLE exception {action} TRIGGER exception_count_{name}")
    await con.close()
    lat, ids = [], []
    stop = time.perf_counter() + SECONDS
    await asyncio.gather(*(writer(dsn, "seed-002", s, stop, lat, ids) for s in range(WRITERS)))
    lat.sort()
    return len(lat) / SECONDS, statistics.median(lat) * 1000, lat[int(len(lat) * 0.99)] * 1000


cluster = database.start(10000)
try:
    for rnd in range(3):
        for enabled in (True, False):
            tps, p50, p99 = asyncio.run(measure(cluster.owner_dsn, enabled))
            print(
                f"round {rnd} counters {'on ' if enabled else 'off'}: "
                f"{tps:.0f} tx/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms",
                flush=True,
            )
finally:

    async def on(dsn):
        con = await asyncpg.connect(dsn)
        for name in ("insert", "update"):
            await con.execute(f"ALTER TABLE exception ENABLE TRIGGER exception_count_{name}")
        await con.close()

    asyncio.run(on(cluster.owner_dsn))
    database.stop(10000)
