"""Start and stop the servers under test, each one process with 10 PostgreSQL connections.

| system          | port | process                                                        | database login        |
|-----------------|------|----------------------------------------------------------------|-----------------------|
| sentinai        | 5610 | `sentinai serve --log-level warning --no-access-log` | sentinai_api (RLS)    |
| postgraphile-v4 | 5611 | node postgraphile/v4/server.js (installed by `npm ci`)          | postgres (superuser)  |
| baseline        | 5612 | uvicorn servers/baseline.py                                     | postgres (superuser)  |

Pids go to $SCRATCH/pids/<name>.pid; stop() signals exactly those pids.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
from database import SCRATCH, Cluster

BENCH = Path(__file__).resolve().parent.parent
PROJECT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
PIDS, LOGS = SCRATCH / "pids", SCRATCH / "logs"
POOL = 10
# Our server's abuse limits, opened so they never decide a measurement: the per-tenant cost budget
# (W1 costs ~114 points; the default refill of 2,000 points/s would cap W1 at ~17 req/s) and the
# 2 s pool timeout (at c16 requests queue for one of the 10 connections, as they do in the other
# servers' pools, which have no timeout). The cost analysis itself still runs on every request.
SENTINAI_LIMITS = {
    "SENTINAI_COST_BUDGET": "1000000000",
    "SENTINAI_COST_RESTORE_RATE": "1000000000",
    "DB_POOL_TIMEOUT": "60",
}
# Shifted by SENTINAI_BENCH_PORT_SHIFT so two runs (each with its own SENTINAI_BENCH_SCRATCH) can
# share a machine without taking each other's ports.
_SHIFT = int(os.environ.get("SENTINAI_BENCH_PORT_SHIFT", "0"))
PORTS = {"sentinai": 5610 + _SHIFT, "postgraphile-v4": 5611 + _SHIFT, "baseline": 5612 + _SHIFT}


def url(name: str, port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or PORTS[name]}/graphql"


def install_postgraphile() -> Path:
    """`npm ci` the committed lock file into $SCRATCH/node-v4 (node_modules never lands in the repo)."""
    src, dst = BENCH / "postgraphile" / "v4", SCRATCH / "node-v4"
    dst.mkdir(parents=True, exist_ok=True)
    fresh = (
        not (dst / "node_modules").is_dir()
        or (dst / "package-lock.json").read_bytes() != (src / "package-lock.json").read_bytes()
    )
    for f in ("package.json", "package-lock.json", "server.js"):
        shutil.copyfile(src / f, dst / f)
    if fresh:
        subprocess.run(["npm", "ci", "--no-fund", "--no-audit", "--loglevel=error"], cwd=dst, check=True)
    return dst


def _spawn(name: str, cmd: list[str], env: dict[str, str], cwd: Path, tag: str) -> int:
    PIDS.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{tag}.log", "wb")
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    (PIDS / f"{tag}.pid").write_text(str(proc.pid))
    return proc.pid


def start(name: str, cluster: Cluster, port: int | None = None, launcher: str = "quiet") -> int:
    """Start one server against `cluster`; returns its pid. `tag` names pid/log files (name@port)."""
    port = port or PORTS[name]
    tag = f"{name}-{port}"
    stop_tag(tag)
    if name == "sentinai":
        workers = int(os.environ.get("SENTINAI_BENCH_WORKERS", "1"))  # bench/run.py --sentinai-workers
        env = {
            "DATABASE_URL": cluster.runtime_url.render_as_string(hide_password=False),
            "MIGRATION_DATABASE_URL": cluster.owner_url.render_as_string(hide_password=False),
            "DB_POOL_SIZE": str(max(1, POOL // workers)),  # the same connections in all, whatever the workers
            "DB_MAX_OVERFLOW": "0",
            "SENTINAI_ENV": "production",
            **SENTINAI_LIMITS,
        }
        args = ["--host", "127.0.0.1", "--port", str(port), *(["--workers", str(workers)] if workers > 1 else [])]
        cmd = (
            [str(VENV_BIN / "sentinai"), "serve", *args]
            if launcher == "cli"
            else [str(VENV_BIN / "sentinai"), "serve", *args, "--log-level", "warning", "--no-access-log"]
        )
        pid = _spawn(name, cmd, env, PROJECT, tag)
        _wait(f"http://127.0.0.1:{port}/readyz", tag)
    elif name == "baseline":
        cmd = [
            str(VENV_BIN / "uvicorn"),
            "baseline:app",
            "--app-dir",
            str(BENCH / "servers"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        pid = _spawn(name, cmd, {"BENCH_PG_URI": cluster.owner_dsn, "BENCH_POOL": str(POOL)}, PROJECT, tag)
        _wait_graphql(url(name, port), tag)
    elif name == "postgraphile-v4":
        tree = install_postgraphile()
        cmd = ["node", "server.js", "--port", str(port), "--uri", cluster.owner_dsn, "--pool", str(POOL)]
        pid = _spawn(name, cmd, {"NODE_ENV": "production"}, tree, tag)
        _wait_graphql(url(name, port), tag)
    else:
        raise SystemExit(f"unknown system {name}")
    return pid


def _wait(probe: str, tag: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(probe, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        _check_alive(tag)
        time.sleep(0.5)
    raise SystemExit(f"{tag} not ready after {timeout} s; see {LOGS / (tag + '.log')}")


def _wait_graphql(endpoint: str, tag: str, timeout: float = 90) -> None:
    body = b'{"query":"{ __typename }"}'
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            req = urllib.request.Request(endpoint, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5):
                return
        except urllib.error.HTTPError:  # the baseline answers 400 to an unknown operation: it is up
            return
        except OSError:
            pass
        _check_alive(tag)
        time.sleep(0.5)
    raise SystemExit(f"{tag} not ready after {timeout} s; see {LOGS / (tag + '.log')}")


def _check_alive(tag: str) -> None:
    pid = pid_of(tag)
    if pid is None or not _alive(pid):
        raise SystemExit(f"{tag} exited; see {LOGS / (tag + '.log')}")


def pid_of(tag: str) -> int | None:
    f = PIDS / f"{tag}.pid"
    return int(f.read_text()) if f.exists() else None


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _ours(pid: int, tag: str) -> bool:
    """The pid still runs the server we started (its command line names our port), not a reused pid."""
    try:
        return tag.rsplit("-", 1)[1] in " ".join(psutil.Process(pid).cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def stop_tag(tag: str) -> None:
    pid = pid_of(tag)
    if pid is None:
        return
    if _alive(pid) and _ours(pid, tag):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        _reap(pid)
    (PIDS / f"{tag}.pid").unlink(missing_ok=True)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_all() -> None:
    if PIDS.is_dir():
        for f in PIDS.glob("*.pid"):
            stop_tag(f.stem)
