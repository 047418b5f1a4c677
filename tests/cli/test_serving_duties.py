"""`sentinai serve` does more than answer requests: it delivers webhooks in the background."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from tests.cli.processes import SENTINAI, environment, start_serving

INGEST = """mutation($input: IngestExceptionInput!) { ingestException(input: $input) { __typename } }"""
CREATE = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { __typename } }"""


def post(port: int, key: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        json.dumps({"query": query, "variables": variables}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_serve_delivers_webhooks_without_being_asked(tmp_path: Path):
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hooks = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    env = environment(SENTINAI_DATA_DIR=str(tmp_path / "data"))
    server = start_serving([str(SENTINAI), "serve", "--demo", "--no-access-log", "--port"], env, tmp_path)
    try:
        banner = (tmp_path / f"serve-{server.port}.stdout").read_text()
        keys = dict(re.findall(r"\s+(northbank (?:admin|operator))\s+(sk_\S+)", banner))
        made = post(
            server.port, keys["northbank admin"], CREATE, {"input": {"url": f"http://127.0.0.1:{hooks.server_port}/"}}
        )
        assert made["data"]["createWebhookEndpoint"]["__typename"] == "CreateWebhookEndpointSuccess", made
        new = {
            "exceptionId": "STL-HOOK-1",
            "domain": "Finance",
            "type": "SettlementFailure",
            "severity": "HIGH",
            "sourceSystem": "Murex",
            "entity": "CPTY-1",
            "summary": "hooked",
        }
        post(server.port, keys["northbank operator"], INGEST, {"input": new})

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(m["data"].get("exceptionId") == "STL-HOOK-1" for m in received):
            time.sleep(0.1)
    finally:
        server.stop()
        hooks.shutdown()
        hooks.server_close()

    assert any(m["data"].get("exceptionId") == "STL-HOOK-1" for m in received), received
