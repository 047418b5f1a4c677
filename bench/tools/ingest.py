"""Ingestion workload: idempotent `ingestException` + `recordExceptionEvent`, ~30 % replays.

`--ingest-workers` concurrent clients (OPERATOR key of seed-001) run for `--ingest-seconds`. Each
client loops over fresh exceptions ING-<run>-<worker>-<n>: one `ingestException`, then three
events (TriageCompleted with stateChange ANALYZING, CommentAdded, PolicyEvaluated). After every
call, with probability 0.3, it replays an earlier call of its own (same body: same exceptionId or
same eventId). Replays must answer `UNCHANGED` / `replayed: true`.

Afterwards the database is checked as the owner: every event id sent exists exactly once, and the
ingested exceptions hold exactly one ExceptionCreated event each plus the events sent, nothing more.
The exceptions end in ANALYZING, so W1 (OPEN exceptions) never sees them; W3 counts them.

Batch mode (`--ingest-batch N`): each client sends the same exceptions and events through
`ingestExceptions` and `recordExceptionEvents` instead, N events per request (and the exceptions
they need in the request before), 30 % of every batch's items being replays of the client's
earlier items. Counted and checked the same way; "mutations" are then items.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import asyncpg
import httpx
from database import BENCH_TENANT, Cluster
from measure import cpu_delta, latency_stats, proc_tree_cpu

INGEST = """mutation Ingest($input: IngestExceptionInput!) {
  ingestException(input: $input) {
    __typename ... on IngestExceptionSuccess { outcome } ... on MutationError { code message } } }"""
INGEST_MANY = """mutation IngestMany($input: IngestExceptionsInput!) {
  ingestExceptions(input: $input) {
    __typename ... on IngestExceptionsSuccess { results {
      __typename ... on IngestExceptionSuccess { outcome } ... on MutationError { code message } } }
    ... on MutationError { code message } } }"""
RECORD_MANY = """mutation RecordMany($input: RecordExceptionEventsInput!) {
  recordExceptionEvents(input: $input) {
    __typename ... on ExceptionEventsRecorded { results {
      __typename ... on ExceptionEventRecorded { replayed } ... on MutationError { code message } } }
    ... on MutationError { code message } } }"""
RECORD = """mutation Record($input: RecordExceptionEventInput!) {
  recordExceptionEvent(input: $input) {
    __typename ... on ExceptionEventRecorded { replayed } ... on MutationError { code message } } }"""
REPLAY_SHARE = 0.3


def _ingest_body(exception_id: str, rng: random.Random) -> dict:
    return {
        "query": INGEST,
        "operationName": "Ingest",
        "variables": {
            "input": {
                "exceptionId": exception_id,
                "domain": "Finance",
                "type": "SettlementFailure",
                "severity": rng.choice(["LOW", "MEDIUM", "HIGH"]),
                "sourceSystem": "Murex",
                "entity": f"ENT-{rng.randint(1, 5000):05d}",
                "amount": f"{rng.randint(100, 500000)}.25",
                "summary": "benchmark ingestion",
                "attributes": {"trade": rng.randint(1, 10**9)},
            }
        },
    }


def _event_bodies(exception_id: str, rng: random.Random) -> list[dict]:
    events = [
        ("TriageCompleted", {"severity": "HIGH", "confidence": 0.9}, {"status": "ANALYZING"}),
        ("CommentAdded", {"text": "looked at it"}, None),
        ("PolicyEvaluated", {"decision": "ALLOW"}, None),
    ]
    out = []
    for event_type, payload, change in events:
        inp = {
            "eventId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "exceptionId": exception_id,
            "eventType": event_type,
            "payload": payload,
        }
        if change:
            inp["stateChange"] = change
        out.append({"query": RECORD, "operationName": "Record", "variables": {"input": inp}})
    return out


class Tally:
    def __init__(self):
        self.lat = {"ingest": [], "record": [], "ingest_many": [], "record_many": []}
        self.batches = {"ingest_many": 0, "record_many": 0}
        self.calls = {"ingest": 0, "record": 0, "ingest_replay": 0, "record_replay": 0}
        self.event_ids: set[str] = set()
        self.exception_ids: set[str] = set()
        self.wrong: list[str] = []


async def _call(client: httpx.AsyncClient, body: dict, kind: str, replay: bool, tally: Tally) -> None:
    t0 = time.perf_counter()
    r = await client.post("/graphql", json=body)
    tally.lat[kind].append(time.perf_counter() - t0)
    tally.calls[kind + ("_replay" if replay else "")] += 1
    try:
        result = r.json()["data"]["ingestException" if kind == "ingest" else "recordExceptionEvent"]
    except Exception:  # noqa: BLE001 - recorded as a wrong answer
        tally.wrong.append(f"HTTP {r.status_code}: {r.text[:200]}")
        return
    if kind == "ingest":
        expected = "UNCHANGED" if replay else "CREATED"
        if result.get("outcome") != expected:
            tally.wrong.append(f"ingest {'replay' if replay else 'new'}: {result}")
    elif result.get("replayed") is not replay:
        tally.wrong.append(f"record {'replay' if replay else 'new'}: {result}")


async def _worker(url: str, key: str, run: str, worker: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(f"{run}-{worker}")
    sent: list[tuple[dict, str]] = []
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url.rsplit("/graphql", 1)[0], headers=headers, timeout=60) as client:
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            exception_id = f"ING-{run}-{worker}-{n}"
            calls = [(_ingest_body(exception_id, rng), "ingest")]
            calls += [(b, "record") for b in _event_bodies(exception_id, rng)]
            for body, kind in calls:
                await _call(client, body, kind, False, tally)
                sent.append((body, kind))
                if kind == "ingest":
                    tally.exception_ids.add(exception_id)
                else:
                    tally.event_ids.add(body["variables"]["input"]["eventId"])
                if rng.random() < REPLAY_SHARE / (1 - REPLAY_SHARE):  # replays = 30 % of all calls
                    old, old_kind = rng.choice(sent[-20:])
                    await _call(client, old, old_kind, True, tally)


async def _call_many(client: httpx.AsyncClient, kind: str, items: list[tuple[dict, bool]], tally: Tally) -> None:
    """One batch request of `items` (input, is-a-replay); every answer checked like `_call`'s."""
    field, query = ("ingestExceptions", INGEST_MANY) if kind == "ingest" else ("recordExceptionEvents", RECORD_MANY)
    body = {"query": query, "variables": {"input": {"items": [item for item, _ in items]}}}
    t0 = time.perf_counter()
    r = await client.post("/graphql", json=body)
    tally.lat[kind + "_many"].append(time.perf_counter() - t0)
    tally.batches[kind + "_many"] += 1
    try:
        results = r.json()["data"][field]["results"]
        assert len(results) == len(items)
    except Exception:  # noqa: BLE001 - recorded as a wrong answer
        tally.wrong.append(f"HTTP {r.status_code}: {r.text[:200]}")
        return
    for (_, replay), result in zip(items, results, strict=True):
        tally.calls[kind + ("_replay" if replay else "")] += 1
        if kind == "ingest" and result.get("outcome") != ("UNCHANGED" if replay else "CREATED"):
            tally.wrong.append(f"ingest {'replay' if replay else 'new'}: {result}")
        if kind == "record" and result.get("replayed") is not replay:
            tally.wrong.append(f"record {'replay' if replay else 'new'}: {result}")


async def _batch_worker(url: str, key: str, run: str, worker: int, deadline: float, tally: Tally, batch: int) -> None:
    """Per request pair: the exceptions the new events need, then `batch` events, 30 % of each
    batch replaying earlier items of this client (the first pair has nothing to replay yet)."""
    rng = random.Random(f"{run}-{worker}")
    sent_exceptions: list[dict] = []
    sent_events: list[dict] = []
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url.rsplit("/graphql", 1)[0], headers=headers, timeout=60) as client:
        n = 0
        while time.perf_counter() < deadline:
            replays = round(batch * REPLAY_SHARE) if sent_events else 0
            fresh: list[dict] = []
            exceptions: list[tuple[dict, bool]] = []
            while len(fresh) < batch - replays:
                n += 1
                exception_id = f"ING-{run}-{worker}-{n}"
                exceptions.append((_ingest_body(exception_id, rng)["variables"]["input"], False))
                fresh += [body["variables"]["input"] for body in _event_bodies(exception_id, rng)]
            fresh = fresh[: batch - replays]
            recent = sent_exceptions[-200:]
            wanted = round(len(exceptions) * REPLAY_SHARE / (1 - REPLAY_SHARE))  # 30 % of this request's items
            exceptions += [(item, True) for item in rng.sample(recent, min(len(recent), wanted))]
            await _call_many(client, "ingest", exceptions, tally)
            events = [(item, False) for item in fresh]
            events += [(item, True) for item in rng.sample(sent_events[-500:], min(replays, len(sent_events[-500:])))]
            rng.shuffle(events)
            await _call_many(client, "record", events, tally)
            sent_exceptions += [item for item, replay in exceptions if not replay]
            sent_events += fresh
            tally.exception_ids.update(item["exceptionId"] for item, replay in exceptions if not replay)
            tally.event_ids.update(item["eventId"] for item in fresh)


async def _verify(cluster: Cluster, tally: Tally) -> dict:
    con = await asyncpg.connect(cluster.owner_dsn)
    try:
        ids = [uuid.UUID(x) for x in tally.event_ids]
        rows, distinct = await con.fetchrow(
            "SELECT count(*), count(DISTINCT event_id) FROM exception_event WHERE tenant_id = $1 "
            "AND event_id = ANY($2::uuid[])",
            BENCH_TENANT,
            ids,
        )
        per_type = dict(
            await con.fetch(
                "SELECT event_type, count(*) FROM exception_event WHERE tenant_id = $1 AND exception_id = ANY($2) "
                "GROUP BY event_type",
                BENCH_TENANT,
                list(tally.exception_ids),
            )
        )
        exceptions = await con.fetchval(
            "SELECT count(*) FROM exception WHERE tenant_id = $1 AND exception_id = ANY($2)",
            BENCH_TENANT,
            list(tally.exception_ids),
        )
    finally:
        await con.close()
    total_on_exceptions = sum(per_type.values())
    expected_total = len(ids) + len(tally.exception_ids)  # one ExceptionCreated each + the events sent
    return {
        "event_ids_sent": len(ids),
        "rows_found": rows,
        "distinct_found": distinct,
        "lost": len(ids) - distinct,
        "duplicated": rows - distinct,
        "exceptions_sent": len(tally.exception_ids),
        "exceptions_found": exceptions,
        "events_on_ingested_exceptions": total_on_exceptions,
        "expected_events_on_them": expected_total,
        "events_by_type": per_type,
        "ok": rows == distinct == len(ids)
        and exceptions == len(tally.exception_ids)
        and total_on_exceptions == expected_total,
    }


def run(
    url: str, key: str, cluster: Cluster, server_pid: int | None, seconds: float, workers: int, batch: int = 0
) -> dict:
    run_id = uuid.uuid4().hex[:8]
    tally = Tally()

    async def go():
        deadline = time.perf_counter() + seconds
        if batch:
            clients = (_batch_worker(url, key, run_id, i, deadline, tally, batch) for i in range(workers))
        else:
            clients = (_worker(url, key, run_id, i, deadline, tally) for i in range(workers))
        await asyncio.gather(*clients)

    c0s, c0p = proc_tree_cpu(server_pid), proc_tree_cpu(cluster.postmaster_pid)
    t0 = time.perf_counter()
    asyncio.run(go())
    elapsed = time.perf_counter() - t0
    ds, dp = cpu_delta(c0s, proc_tree_cpu(server_pid)), cpu_delta(c0p, proc_tree_cpu(cluster.postmaster_pid))
    calls = sum(tally.calls.values())
    record_calls = tally.calls["record"] + tally.calls["record_replay"]
    requests = sum(tally.batches.values()) if batch else calls
    out = {
        "run": run_id,
        "mode": f"batch of {batch}" if batch else "single",
        "workers": workers,
        "seconds": round(elapsed, 2),
        "calls": tally.calls,
        "requests_per_s": calls / elapsed,  # mutations (batch items in batch mode)
        "http_requests_per_s": requests / elapsed,
        "new_events_per_s": len(tally.event_ids) / elapsed,
        "record_calls_per_s": record_calls / elapsed,
        "replay_share": (tally.calls["ingest_replay"] + tally.calls["record_replay"]) / max(calls, 1),
        "wrong_answers": len(tally.wrong),
        "wrong_examples": tally.wrong[:3],
        "server_cpu_ms_per_request": ds * 1000 / calls if ds is not None and calls else None,
        "pg_cpu_ms_per_request": dp * 1000 / calls if dp is not None and calls else None,
    }
    for kind in ("ingest", "record", "ingest_many", "record_many"):
        if tally.lat[kind]:
            s = latency_stats(tally.lat[kind])
            out[f"{kind}_p50_ms"], out[f"{kind}_p99_ms"] = s["p50_ms"], s["p99_ms"]
    out["verify"] = asyncio.run(_verify(cluster, tally))
    return out


PG_CREATE = """mutation Create($input: CreateExceptionEventInput!) {
  createExceptionEvent(input: $input) { exceptionEvent { eventId } } }"""


def run_postgraphile_creates(url: str, cluster: Cluster, server_pid: int | None, seconds: float, workers: int) -> dict:
    """PostGraphile 4's generated `createExceptionEvent` on the same table, for comparison with
    `recordExceptionEvent`: a plain INSERT as the superuser (no RLS, no idempotency — a replayed
    body would be a unique-violation error, so none are sent — no exception lock, no state change);
    the table's triggers (hash chain, change log) fire all the same."""
    created: list[str] = []
    latencies: list[float] = []
    errors: list[str] = []

    async def exception_ids() -> list[str]:
        connection = await asyncpg.connect(cluster.owner_dsn)
        try:
            rows = await connection.fetch(
                "SELECT exception_id FROM exception WHERE tenant_id = $1 ORDER BY exception_id LIMIT $2",
                BENCH_TENANT,
                workers,
            )
        finally:
            await connection.close()
        return [row["exception_id"] for row in rows]

    async def client(exception_id: str, deadline: float) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while time.perf_counter() < deadline:
                event_id = str(uuid.uuid4())
                event = {
                    "tenantId": BENCH_TENANT,
                    "eventId": event_id,
                    "exceptionId": exception_id,
                    "eventType": "CommentAdded",
                    "actorType": "AGENT",
                    "actorId": "bench",
                    "payload": {"text": "bench"},
                }
                started = time.perf_counter()
                response = await http.post(
                    url, json={"query": PG_CREATE, "variables": {"input": {"exceptionEvent": event}}}
                )
                latencies.append(time.perf_counter() - started)
                body = response.json()
                if body.get("errors"):
                    errors.append(str(body["errors"])[:200])
                else:
                    created.append(event_id)

    async def go() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(client(exception_id, deadline) for exception_id in await exception_ids()))

    c0s, c0p = proc_tree_cpu(server_pid), proc_tree_cpu(cluster.postmaster_pid)
    t0 = time.perf_counter()
    asyncio.run(go())
    elapsed = time.perf_counter() - t0
    ds, dp = cpu_delta(c0s, proc_tree_cpu(server_pid)), cpu_delta(c0p, proc_tree_cpu(cluster.postmaster_pid))
    return {
        "mode": "postgraphile createExceptionEvent (no idempotency)",
        "workers": workers,
        "seconds": round(elapsed, 2),
        "creates_per_s": len(created) / elapsed,
        "errors": len(errors),
        "error_examples": errors[:3],
        "server_cpu_ms_per_request": ds * 1000 / len(created) if ds is not None and created else None,
        "pg_cpu_ms_per_request": dp * 1000 / len(created) if dp is not None and created else None,
        "create": latency_stats(latencies) if latencies else None,
    }
