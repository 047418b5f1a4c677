"""Live subscriptions: write → subscriber latency, deliveries per second, memory per subscription.

    .venv/bin/python bench/live.py                      # 1, 100 and 1,000 subscriptions
    .venv/bin/python bench/live.py --subscriptions 1,10 --events 20

Starts `sentinai serve --demo` (embedded PostgreSQL in a temp directory, one process) and, for
each shape and count, opens that many `exceptionEvents` subscriptions (50 per socket) — spread
over the demo's 150 exceptions, or all on one (fan-out) — then records events through the API at
a steady pace on the watched exceptions; each carries the moment it was sent, so
every subscriber measures send → delivery (which includes the mutation's own commit). Memory
is the server's resident size before and after opening the idle subscriptions. A figure
printer, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
EXCEPTION = "STL-2026-00020"
DEMO_EXCEPTIONS = [f"STL-2026-{n:05d}" for n in range(1, 151)]
PER_SOCKET = 50
TIMELINE = """subscription($e: String!, $after: String) {
  exceptionEvents(exceptionId: $e, after: $after) { position event { payload } }
}"""
RECORD = """mutation($input: RecordExceptionEventInput!) { recordExceptionEvent(input: $input) { __typename } }"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: str, port: int) -> tuple[subprocess.Popen, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MIGRATION_DATABASE_URL"}}
    env |= {
        "SENTINAI_DATA_DIR": data_dir,
        "SENTINAI_MAX_SUBSCRIPTIONS_PER_KEY": "100000",
        "SENTINAI_MAX_SUBSCRIPTIONS_PER_CONNECTION": str(PER_SOCKET),
        "SENTINAI_COST_BUDGET": "100000000",
        "SENTINAI_COST_RESTORE_RATE": "100000000",
    }
    command = [str(ROOT / ".venv/bin/sentinai"), "serve", "--demo", "--port", str(port), "--no-access-log"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    keys: dict[str, str] = {}
    assert server.stdout is not None
    for line in server.stdout:
        match = re.match(r"\s+(\S+) (admin|operator|viewer)\s+(sk_\S+)", line)
        if match:
            keys[f"{match[1]} {match[2]}"] = match[3]
        if "Uvicorn running" in line:
            break
    return server, keys


async def subscriber_socket(
    url: str,
    key: str,
    targets: list[str],
    after: str,
    latencies: list[float],
    ready: asyncio.Event,
    opened: list,
    errors: list,
) -> None:
    async with connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for n, exception_id in enumerate(targets):
            payload = {"query": TIMELINE, "variables": {"e": exception_id, "after": after}}
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
        opened.append(len(targets))
        ready.set()
        async for raw in ws:
            received = time.time()
            message = json.loads(raw)
            if message["type"] == "next" and message["payload"].get("data") is None:
                errors.append(message["payload"].get("errors"))
            elif message["type"] == "next":
                sent = float(message["payload"]["data"]["exceptionEvents"]["event"]["payload"]["text"])
                latencies.append(received - sent)


async def measure(
    url: str, http: str, keys: dict[str, str], pid: int, shape: str, subscriptions: int, events: int, rate: float
) -> dict:
    async with httpx.AsyncClient(timeout=30) as client:
        head = await client.post(
            http,
            json={"query": "{ changes(first: 1) { totalCount } }"},
            headers={"Authorization": f"Bearer {keys['northbank viewer']}"},
        )
        after = str(head.json()["data"]["changes"]["totalCount"])
        process = psutil.Process(pid)
        before = process.memory_info().rss
        latencies: list[float] = []
        opened: list[int] = []
        errors: list = []
        sockets = []
        # fan-out: every subscription on one exception; spread: over the demo's 150 exceptions
        watched = [EXCEPTION if shape == "fanout" else DEMO_EXCEPTIONS[n % 150] for n in range(subscriptions)]
        for start in range(0, subscriptions, PER_SOCKET):
            ready = asyncio.Event()
            targets = watched[start : start + PER_SOCKET]
            sockets.append(
                asyncio.create_task(
                    subscriber_socket(url, keys["northbank viewer"], targets, after, latencies, ready, opened, errors)
                )
            )
            await ready.wait()
        await asyncio.sleep(2.0)  # every subscription has read the (empty) log and sleeps
        idle = process.memory_info().rss
        started = time.perf_counter()
        expected = 0
        for n in range(events):
            written = EXCEPTION if shape == "fanout" else DEMO_EXCEPTIONS[n % 150]
            expected += watched.count(written)
            variables = {
                "input": {
                    "eventId": str(uuid.uuid4()),
                    "exceptionId": written,
                    "eventType": "CommentAdded",
                    "payload": {"text": repr(time.time())},
                }
            }
            await client.post(
                http,
                json={"query": RECORD, "variables": variables},
                headers={"Authorization": f"Bearer {keys['northbank operator']}"},
            )
            await asyncio.sleep(1 / rate)
        deadline = time.perf_counter() + 30
        while len(latencies) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        for task in sockets:
            task.cancel()
        await asyncio.gather(*sockets, return_exceptions=True)
        await asyncio.sleep(1.0)
    ordered = sorted(latencies)
    return {
        "shape": shape,
        "subscriptions": subscriptions,
        "events": events,
        "delivered": len(latencies),
        "expected": expected,
        "errors": len(errors),
        "p50_ms": round(statistics.median(ordered) * 1000, 1) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1) if ordered else None,
        "deliveries_per_s": round(len(latencies) / elapsed, 1),
        "rss_kib_per_idle_subscription": round((idle - before) / 1024 / subscriptions, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", default="1,100,1000")
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="events written per second")
    parser.add_argument("--shapes", default="spread,fanout", help="spread: over 150 exceptions; fanout: all on one")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="sentinai-live-") as data_dir:
        server, keys = start_server(data_dir, port)
        try:
            for shape in args.shapes.split(","):
                for count in [int(n) for n in args.subscriptions.split(",")]:
                    figures = await measure(
                        f"ws://127.0.0.1:{port}/graphql",
                        f"http://127.0.0.1:{port}/graphql",
                        keys,
                        server.pid,
                        shape,
                        count,
                        args.events,
                        args.rate,
                    )
                    print(json.dumps(figures), flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
