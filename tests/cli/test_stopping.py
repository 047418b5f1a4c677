"""`sentinai serve` and `dev.py` stop everything they started when asked to, and a server
killed outright is cleaned up by the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli.processes import ROOT, SENTINAI, environment, is_running, postmaster_pid, start_serving, wait_until_gone


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """One embedded PostgreSQL data directory, initialised and migrated by the first test."""
    return tmp_path_factory.mktemp("lifecycle") / "data"


def serve(data_dir: Path, logs: Path):
    env = environment(SENTINAI_DATA_DIR=str(data_dir))
    return start_serving([str(SENTINAI), "serve", "--no-access-log", "--port"], env, logs)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_serve_cleanly_and_stops_the_postgresql_it_started(data_dir, tmp_path, signum):
    server = serve(data_dir, tmp_path)
    postmaster = postmaster_pid(data_dir)

    assert server.stop(signum) == 0
    assert "Traceback" not in server.stderr
    assert wait_until_gone(postmaster), f"the embedded PostgreSQL {postmaster} still runs"


def test_the_next_run_cleans_up_after_a_server_that_was_killed_outright(data_dir, tmp_path):
    killed = serve(data_dir, tmp_path)
    killed.stop(signal.SIGKILL)
    orphan = postmaster_pid(data_dir)
    assert is_running(orphan)  # nothing could stop it, and its pid stays in the handle file

    server = serve(data_dir, tmp_path)
    assert postmaster_pid(data_dir) == orphan  # attached to, not started twice

    assert server.stop() == 0
    assert wait_until_gone(orphan)


def test_pids_left_by_killed_processes_and_since_reused_do_not_keep_postgresql_running(data_dir, tmp_path):
    pgdata = data_dir / "pgdata"
    (pgdata / ".handle_pids.json").write_text("[]")
    written = time.time() - 60
    os.utime(pgdata / ".handle_pids.json", (written, written))
    with subprocess.Popen(["sleep", "60"]) as newcomer:  # a process created after the last holder left
        # What a PostgreSQL and a holder killed outright leave once their pids are reused.
        lines = [str(newcomer.pid), str(pgdata), "0", "5432", str(pgdata), "", "0 0", "ready"]
        (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
        (pgdata / ".handle_pids.json").write_text(json.dumps([newcomer.pid]))
        os.utime(pgdata / ".handle_pids.json", (written, written))

        server = serve(data_dir, tmp_path)
        postmaster = postmaster_pid(data_dir)
        newcomer.kill()

    assert postmaster != newcomer.pid
    assert server.stop() == 0
    assert wait_until_gone(postmaster)


def test_sigterm_to_dev_py_stops_the_server_and_its_postgresql(data_dir, tmp_path):
    env = environment(SENTINAI_DATA_DIR=str(data_dir))
    command = [sys.executable, str(ROOT / "dev.py"), "sentinai", "serve", "--no-access-log", "--port"]
    server = start_serving(command, env, tmp_path)
    postmaster = postmaster_pid(data_dir)

    assert server.stop(signal.SIGTERM) == 0
    assert "Traceback" not in server.stderr
    assert wait_until_gone(postmaster)


def test_serve_with_two_workers_answers_from_both_and_stops_them_and_its_postgresql(data_dir, tmp_path):
    import psutil

    env = environment(SENTINAI_DATA_DIR=str(data_dir))
    server = start_serving([str(SENTINAI), "serve", "--workers", "2", "--no-access-log", "--port"], env, tmp_path)
    try:
        postmaster = postmaster_pid(data_dir)
        children = psutil.Process(server.process.pid).children(recursive=True)
        workers = [child for child in children if "spawn_main" in " ".join(child.cmdline())]
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as scraped:
            metrics = scraped.read()
    finally:
        stopped = server.stop(signal.SIGTERM)

    assert len(workers) == 2, [child.cmdline() for child in children]
    assert b"sentinai_db_pool_connections" in metrics
    assert stopped == 0
    assert "Traceback" not in server.stderr
    assert all(wait_until_gone(worker.pid) for worker in workers)
    assert wait_until_gone(postmaster), f"the embedded PostgreSQL {postmaster} still runs"


def test_each_worker_gets_its_share_of_the_cost_budget():
    from sentinai.cli import worker_environment
    from sentinai.config import Settings
    from sentinai.config import normalise_database_url as url

    settings = Settings(
        database_url=url("postgresql://a@h/d"), migration_database_url=url("postgresql://o@h/d"), cost_budget=100_001
    )

    shared = worker_environment(settings, 4)

    assert shared["SENTINAI_COST_BUDGET"] == "25001" and float(shared["SENTINAI_COST_RESTORE_RATE"]) == 500.0
    assert shared["DATABASE_URL"].startswith("postgresql+asyncpg://a@h/d")
