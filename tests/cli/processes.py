"""Run the real `sentinai` console script (and dev.py) as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SENTINAI = Path(sys.executable).parent / "sentinai"
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/x"


def environment(**overrides: str) -> dict[str, str]:
    """The test process's environment without its database, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MIGRATION_DATABASE_URL"}}
    return {**env, **overrides}


def sentinai(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SENTINAI), *args], env=env, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not is_running(pid)


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    stderr_path: Path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)


def start_serving(command: list[str], env: dict[str, str], logs: Path) -> Server:
    """Start a server command ending in `--port`, and return once /healthz answers."""
    port = free_port()
    stderr_path = logs / f"serve-{port}.stderr"
    with open(logs / f"serve-{port}.stdout", "w") as stdout, open(stderr_path, "w") as stderr:
        process = subprocess.Popen([*command, str(port)], env=env, stdout=stdout, stderr=stderr, cwd=ROOT)
    server = Server(process, port, stderr_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the server never answered /healthz:\n{server.stderr}")
