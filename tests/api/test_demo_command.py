"""The README's quick start: one command brings the API up with demo data, and the
README's exception-detail query works against it as written."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _readme_query() -> tuple[str, dict]:
    text = README.read_text()
    query = re.search(r"```graphql\n(.*?)```", text, re.S).group(1)
    variables = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    return query, variables


def _post(url: str, key: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        url,
        json.dumps({"query": query, "variables": variables}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_quick_start_serves_demo_data_and_answers_the_readme_query(tmp_path, capsys):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MIGRATION_DATABASE_URL"}}
    env["SENTINAI_DATA_DIR"] = str(tmp_path / "data")
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "sentinai.cli", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        keys, lines = {}, []
        for line in server.stdout:
            lines.append(line)
            match = re.match(r"\s+(\S+) (admin|operator|viewer)\s+(sk_\S+)", line)
            if match:
                keys[f"{match[1]} {match[2]}"] = match[3]
            if "Uvicorn running" in line or server.poll() is not None:
                break
        assert "northbank viewer" in keys, "".join(lines)
        url = f"http://127.0.0.1:{port}/graphql"
        query, variables = _readme_query()
        body = _post(url, keys["northbank viewer"], query, variables)
        elapsed = time.perf_counter() - started
        assert "errors" not in body, body
        detail = body["data"]["exception"]
        assert detail["exceptionId"] == variables["exceptionId"] and detail["events"]["edges"]
        assert detail["currentPlaybook"]["steps"] and detail["currentStep"], "the example shows a playbook panel"
        assert detail["remediationPlans"], "and a remediation plan"
        assert "/graphql" in "".join(lines)
        with capsys.disabled():
            print(f"\n  quick start: command to first served README query in {elapsed:.1f} s")
    finally:
        server.terminate()
        server.communicate(timeout=30)
