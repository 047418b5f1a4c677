"""Memory under padded documents: distinct ~1 MiB documents (mostly comments, valid GraphQL) sent
over HTTP, then subscribed and completed over the WebSocket; the server's resident size and the
bytes each memo holds (`sentinai_memo_bytes`, docs/hardening.md "Memos") before and after each.

    .venv/bin/python bench/memo_memory.py                    # 5,000 documents each way
    .venv/bin/python bench/memo_memory.py --documents 300 --size 1000000

Starts `sentinai serve --demo` (embedded PostgreSQL in a temp directory, one process) from the
checkout this file is in, with a cost budget large enough that nothing is throttled: the figures
are the memos' bounds, not the price's (which alone holds a tenant to about two such documents a
second). A figure printer, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
EXCEPTION = "STL-2026-00001"
DETAIL = "query Detail{n}($id: String!) {{ exception(exceptionId: $id) {{ exceptionId summary status }} }}"
TIMELINE = "subscription Timeline{n}($e: String!) {{ exceptionEvents(exceptionId: $e) {{ position }} }}"
LINE = "# " + "padding " * 124 + "\n"
"""A comment line of 1,000 characters: each comment is a token, and a document may hold 5,000."""
MEMO = re.compile(r'^sentinai_memo_bytes\{memo="([a-z_]+)"\} (\S+)$', re.M)


def padded(template: str, n: int, size: int) -> str:
    head = template.format(n=n) + f"\n# document {n}\n"
    return head + LINE * max(0, (size - len(head)) // len(LINE))


def start_server(data_dir: str, port: int) -> tuple[subprocess.Popen, str]:
    """The server, its output in a file (a pipe left unread would block it), and the demo's viewer key."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MIGRATION_DATABASE_URL"}}
    env |= {
        "PYTHONPATH": str(ROOT / "src"),
        "SENTINAI_DATA_DIR": data_dir,
        "SENTINAI_COST_BUDGET": "100000000",
        "SENTINAI_COST_RESTORE_RATE": "100000000",
    }
    command = [sys.executable, "-m", "sentinai.cli", "serve", "--demo", "--port", str(port), "--no-access-log"]
    log = Path(data_dir) / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, env=env)
    while "Uvicorn running" not in (text := log.read_text()):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped:\n{text}")
        time.sleep(0.2)
    match = re.search(r"\s+northbank viewer\s+(sk_\S+)", text)
    assert match, text
    return server, match[1]


async def memo_bytes(client: httpx.AsyncClient, base: str) -> dict[str, float]:
    text = (await client.get(f"{base}/metrics")).text
    return {name: float(value) for name, value in MEMO.findall(text)}


async def over_http(client: httpx.AsyncClient, base: str, key: str, documents: range, size: int) -> int:
    refused = 0
    for n in documents:
        body = {"query": padded(DETAIL, n, size), "variables": {"id": EXCEPTION}}
        answer = (await client.post(f"{base}/graphql", json=body, headers={"Authorization": f"Bearer {key}"})).json()
        if "errors" in answer:
            refused += 1
            first_error(answer["errors"])
    return refused


async def over_websocket(url: str, key: str, documents: range, size: int) -> int:
    refused = 0
    async with connect(url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for n in documents:
            payload = {"query": padded(TIMELINE, n, size), "variables": {"e": EXCEPTION}}
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
            message = json.loads(await ws.recv())
            if message["type"] != "next" or "errors" in message["payload"]:
                refused += 1
                first_error(message)
            if message["type"] == "next":
                await ws.send(json.dumps({"id": str(n), "type": "complete"}))
    return refused


_shown: set[str] = set()


def first_error(errors: object) -> None:
    """Print the first error of each kind (an error answer is not what this measures)."""
    text = json.dumps(errors)[:300]
    kind = text[:80]
    if kind not in _shown:
        _shown.add(kind)
        print(f"  error: {text}", flush=True)


def report(label: str, process: psutil.Process, memos: dict[str, float], seconds: float | None = None) -> None:
    held = ", ".join(f"{name} {value / 2**20:.1f}" for name, value in sorted(memos.items())) or "none yet"
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    print(f"{label:<22} RSS {process.memory_info().rss / 2**20:7.1f} MiB{took}; memos (MiB): {held}", flush=True)


async def run(args: argparse.Namespace, port: int, pid: int, key: str) -> None:
    """Each way in five steps, so that a plateau shows apart from a leak."""
    base, url, process = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql", psutil.Process(pid)
    step = max(1, args.documents // 5)
    refused = {"HTTP": 0, "WS": 0}
    async with httpx.AsyncClient(timeout=60) as client:
        report("before", process, await memo_bytes(client, base))
        for way, offset in (("HTTP", 0), ("WS", args.documents)):
            started = time.perf_counter()
            for start in range(offset, offset + args.documents, step):
                documents = range(start, min(start + step, offset + args.documents))
                if way == "HTTP":
                    refused[way] += await over_http(client, base, key, documents, args.size)
                else:
                    refused[way] += await over_websocket(url, key, documents, args.size)
                seconds = time.perf_counter() - started
                report(f"after {documents.stop - offset} {way}", process, await memo_bytes(client, base), seconds)
    print(f"answered with errors: {refused['HTTP']} over HTTP, {refused['WS']} over WebSocket")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=5_000, help="distinct documents each way")
    parser.add_argument("--size", type=int, default=1_000_000, help="characters per document (JSON-escaped < 1 MiB)")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="sentinai-memo-") as data_dir:
        server, key = start_server(data_dir, port)
        try:
            asyncio.run(run(args, port, server.pid, key))
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
