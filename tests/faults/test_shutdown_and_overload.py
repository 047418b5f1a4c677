"""The real server under SIGTERM and overload. Slow (about 30 s): `python3 dev.py test -m slow`."""

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

LIST = "{ exceptions(first: 20) { nodes { exceptionId events(first: 5) { nodes { eventType } } } } }"


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(env, *args) -> str:
    return subprocess.run(
        [sys.executable, "-m", "sentinai.cli", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def seeded_env(tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MIGRATION_DATABASE_URL"}}
    env["SENTINAI_DATA_DIR"] = str(tmp_path_factory.mktemp("load"))
    _cli(env, "seed", "--tenants", "1", "--exceptions", "2000", "--events", "5", "--prefix", "load")
    env["KEY"] = _cli(env, "apikey", "create", "--tenant", "load-001", "--role", "viewer").strip().splitlines()[-1]
    return env


async def _serve(env, **settings):
    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sentinai.cli", "serve", "--port", str(port)],
        env={**env, **settings},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:
        for _ in range(100):
            try:
                if (await probe.get("/readyz")).status_code == 200:
                    return server, port
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


async def _timed(client, key):
    started = time.perf_counter()
    response = await client.post("/graphql", json={"query": LIST}, headers={"Authorization": f"Bearer {key}"})
    return response.status_code, (time.perf_counter() - started) * 1000


async def test_sigterm_lets_every_request_in_flight_complete(seeded_env, capsys):
    server, port = await _serve(seeded_env)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        in_flight = [asyncio.create_task(_timed(client, seeded_env["KEY"])) for _ in range(30)]
        await asyncio.sleep(0.2)  # every request is on the wire
        server.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*in_flight, return_exceptions=True)
    exit_code = server.wait(timeout=30)
    completed = sum(1 for result in results if not isinstance(result, BaseException) and result[0] == 200)
    failed = [result for result in results if isinstance(result, BaseException) or result[0] != 200]
    # uvicorn finishes the in-flight requests; a stop that was asked for is a clean exit.
    assert completed == len(results) and exit_code == 0, failed
    with capsys.disabled():
        print(
            f"\n  SIGTERM with {len(results)} requests in flight: {completed} completed with 200, exit code {exit_code}"
        )


async def test_overload_is_shed_fast_and_accepted_requests_stay_quick(seeded_env, capsys):
    server, port = await _serve(seeded_env, SENTINAI_MAX_CONCURRENT_REQUESTS="1")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            normal = [(await _timed(client, seeded_env["KEY"]))[1] for _ in range(40)]
            results: list[tuple[int, float]] = []

            async def client_loop(until):
                while time.monotonic() < until:
                    results.append(await _timed(client, seeded_env["KEY"]))

            until = time.monotonic() + 5
            await asyncio.gather(*(client_loop(until) for _ in range(4)))  # 4x the admission limit
    finally:
        server.terminate()
        server.wait(timeout=30)
    accepted = sorted(ms for status, ms in results if status == 200)
    shed = sorted(ms for status, ms in results if status == 503)
    normal_p50 = statistics.median(normal)
    accepted_p50 = statistics.median(accepted)
    shed_p50 = statistics.median(shed) if shed else 0.0
    shed_p99 = shed[int(len(shed) * 0.99) - 1] if shed else 0.0
    assert accepted and shed and shed_p50 < 50
    with capsys.disabled():
        print(
            f"\n  overload at 4x the admission limit: {len(accepted)} accepted (p50 {accepted_p50:.1f} ms vs "
            f"{normal_p50:.1f} ms unloaded: {accepted_p50 / normal_p50:.2f}x), {len(shed)} shed with 503 "
            f"(p50 {shed_p50:.1f} ms, p99 {shed_p99:.1f} ms)"
        )
