"""Request bodies, correctness check, SQL statement counts and the interleaved measurements.

Adapted from the shared anchors' tools/bench.py. Differences: systems carry HTTP headers (our
server needs `Authorization: Bearer <key>`), every workload targets tenant seed-001 (our API
keys belong to one tenant and no argument names a tenant), and a body carries only the
variables its query declares.

Per round → workload → system (order rotated every round: A B C, B C A, …):
  warm-up : wrk -c16 for --warmup-seconds (discarded)
  seq     : one Python client, sequential keep-alive requests (--seq-n, capped at --seq-max-seconds): p50/p99
  c1, c16 : wrk -t1 -c1 / -c16 for --seconds: req/s, p50/p99; during each, the CPU seconds of the server's
            process tree and of all PostgreSQL processes (psutil) → CPU ms per request
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import normalize
import psutil
from database import BENCH_TENANT, Cluster

TOOLS = Path(__file__).resolve().parent
WORKLOADS = ("w1", "w2", "w3")


@dataclass
class System:
    name: str
    url: str
    qdir: Path
    normalizer: str
    pid: int | None = None
    pg_pid: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    bodies_dir: Path | None = None
    expected_bytes: dict[str, int] = field(default_factory=dict)  # median response size seen by check()

    def bodies(self, w: str) -> list[bytes]:
        return (self.bodies_dir / f"{w}.jsonl").read_bytes().splitlines()


# ------------------------------------------------------------------ request bodies
def make_variables(cluster: Cluster, n: int, seed: int) -> dict[str, list[dict]]:
    """One seeded list of variables per workload, shared by every system."""

    async def ids():
        con = await asyncpg.connect(cluster.owner_dsn)
        try:
            return [
                r[0]
                for r in await con.fetch(
                    "SELECT exception_id FROM exception WHERE tenant_id = $1 AND exception_id LIKE 'EXC-%' "
                    "ORDER BY exception_id",
                    BENCH_TENANT,
                )
            ]
        finally:
            await con.close()

    exc = asyncio.run(ids())
    rnd = random.Random(seed)
    return {
        "w1": [{"tenantId": BENCH_TENANT}] * n,
        "w2": [{"tenantId": BENCH_TENANT, "exceptionId": rnd.choice(exc)} for _ in range(n)],
        "w3": [{"tenantId": BENCH_TENANT}] * n,
    }


def write_bodies(systems: list[System], variables: dict[str, list[dict]], root: Path) -> None:
    for s in systems:
        s.bodies_dir = root / s.name
        s.bodies_dir.mkdir(parents=True, exist_ok=True)
        for w in WORKLOADS:
            q = (s.qdir / f"{w}.graphql").read_text()
            declared = set(re.findall(r"\$(\w+)\s*:", q))
            with open(s.bodies_dir / f"{w}.jsonl", "wb") as f:
                for v in variables[w]:
                    body = {
                        "query": q,
                        "operationName": w.upper(),
                        "variables": {k: x for k, x in v.items() if k in declared},
                    }
                    f.write(json.dumps(body, separators=(",", ":")).encode() + b"\n")


# ------------------------------------------------------------------ HTTP
class Client:
    def __init__(self, url: str, headers: dict[str, str] | None = None):
        u = urlsplit(url)
        self.path = u.path or "/"
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)

    def post(self, body: bytes) -> tuple[int, bytes]:
        self.conn.request("POST", self.path, body, self.headers)
        r = self.conn.getresponse()
        return r.status, r.read()

    def close(self) -> None:
        self.conn.close()


# ------------------------------------------------------------------ correctness
def check(systems: list[System], reference: str, n: int = 30) -> dict:
    """The first n requests of each workload to every system, normalised and compared with `reference`."""
    report: dict = {"reference": reference, "requests_per_workload": n, "workloads": {}}
    ok_all = True
    for w in WORKLOADS:
        per = {s.name: _collect(s, w, n) for s in systems}
        ref = per[reference]
        wrep = {}
        for s in systems:
            p = per[s.name]
            ids_ok = p["sigs"] == ref["sigs"] and not p["errors"]
            deep_ok = p["deeps"] == ref["deeps"] and not p["errors"]
            diff = None
            if not deep_ok:
                diff = next(
                    (_first_diff(a, b, f"req{i}") for i, (a, b) in enumerate(zip(p["deeps"], ref["deeps"])) if a != b),
                    None,
                )
            s.expected_bytes[w] = int(statistics.median(p["sizes"]))
            wrep[s.name] = {
                "ids_and_counts_match_reference": ids_ok,
                "all_values_match_reference": deep_ok,
                "first_difference": diff,
                "errors": p["errors"][:3],
                "median_response_bytes": int(statistics.median(p["sizes"])),
                "first_request": _describe(w, p["sigs"][0]),
            }
            ok_all &= ids_ok and deep_ok
        report["workloads"][w] = wrep
    report["ok"] = ok_all
    return report


def _collect(s: System, w: str, n: int) -> dict:
    c = Client(s.url, s.headers)
    out: dict = {"sigs": [], "deeps": [], "sizes": [], "errors": []}
    for body in s.bodies(w)[:n]:
        st, raw = c.post(body)
        out["sizes"].append(len(raw))
        try:
            if st != 200:
                raise ValueError(f"HTTP {st}: {raw[:200]!r}")
            data = normalize.NORMALIZERS[s.normalizer](w, json.loads(raw))
            out["sigs"].append(normalize.signature(w, data))
            out["deeps"].append(normalize.deep(data))
        except Exception as e:  # noqa: BLE001 - reported, never raised
            out["errors"].append(str(e)[:300])
            out["sigs"].append(None)
            out["deeps"].append(None)
    c.close()
    return out


def _describe(w: str, sig) -> dict:
    if not sig:
        return {}
    if w == "w1":
        return {"exceptions": len(sig), "events": sum(x[1] for x in sig)}
    if w == "w2":
        return {"events": sig[1], "steps": sig[4]}
    return {"groups": len(sig)}


def _first_diff(a, b, path):
    if type(a) is not type(b):
        return f"{path}: {str(a)[:80]} != {str(b)[:80]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: missing on one side"
            d = _first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {str(a)[:80]} != {str(b)[:80]}"


# ------------------------------------------------------------------ SQL statements per request
STATEMENT = re.compile(rb"LOG:  (statement|execute [^:]*):")


def count_statements(systems: list[System], cluster: Cluster, n: int = 5, keep_dir: Path | None = None) -> dict:
    """Statements PostgreSQL receives per request: log_statement=all for a moment, count log lines.

    Needs the cluster otherwise idle. Includes BEGIN/COMMIT/ROLLBACK and set_config round trips.
    """
    from database import execute

    out: dict = {}
    execute(cluster, "ALTER SYSTEM SET log_statement = 'all'", "SELECT pg_reload_conf()")
    time.sleep(1.0)
    try:
        for s in systems:
            out[s.name] = {}
            for w in WORKLOADS:
                c = Client(s.url, s.headers)
                c.post(s.bodies(w)[-1])  # prime: prepared statements, pool, auth cache
                time.sleep(0.3)
                size0 = cluster.log.stat().st_size
                for body in s.bodies(w)[-1 - n : -1]:
                    c.post(body)
                time.sleep(0.5)
                c.close()
                with open(cluster.log, "rb") as f:
                    f.seek(size0)
                    chunk = f.read()
                out[s.name][w] = round(len(STATEMENT.findall(chunk)) / n, 1)
                if keep_dir is not None:  # what exactly was sent, for docs/performance.md
                    (keep_dir / f"statements-{s.name}-{w}.log").write_bytes(chunk)
    finally:
        execute(cluster, "ALTER SYSTEM RESET log_statement", "SELECT pg_reload_conf()")
    return out


# ------------------------------------------------------------------ measurement
def proc_tree_cpu(pid: int | None) -> dict[int, float] | None:
    if pid is None:
        return None
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    out = {}
    for q in procs:
        try:
            t = q.cpu_times()
            out[q.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


def cpu_delta(before, after) -> float | None:
    """CPU seconds between two snapshots (processes that exited in between are not counted)."""
    if before is None or after is None:
        return None
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def run_wrk(s: System, w: str, conc: int, seconds: float, offset: int) -> dict:
    cmd = [
        "wrk",
        "-t1",
        f"-c{conc}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "60s",
        "-s",
        str(TOOLS / "wrk_post.lua"),
    ]
    for k, v in s.headers.items():
        cmd += ["-H", f"{k}: {v}"]
    cmd += [s.url, "--", str(s.bodies_dir / f"{w}.jsonl"), str(offset)]
    c0s, c0p = proc_tree_cpu(s.pid), proc_tree_cpu(s.pg_pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    c1s, c1p = proc_tree_cpu(s.pid), proc_tree_cpu(s.pg_pid)
    m = re.search(r"^WRKJSON (\{.*\})$", out.stdout, re.M)
    if not m:
        raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    r = json.loads(m.group(1))
    n = max(r["requests"], 1)
    rec = {
        "kind": f"c{conc}",
        "n": r["requests"],
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "mean_ms": r["lat_mean_us"] / 1000,
        "errors": sum(r[k] for k in r if k.startswith("errors_")),
        "bytes_per_req": r["bytes"] / n,
    }
    ds, dp = cpu_delta(c0s, c1s), cpu_delta(c0p, c1p)
    if ds is not None:
        rec["server_cpu_ms_per_req"] = ds * 1000 / n
    if dp is not None:
        rec["pg_cpu_ms_per_req"] = dp * 1000 / n
    return rec


def run_seq(s: System, w: str, n: int, max_seconds: float, offset: int) -> dict:
    bodies = s.bodies(w)
    c = Client(s.url, s.headers)
    lat, errors = [], 0
    t_end = time.perf_counter() + max_seconds
    for i in range(n):
        body = bodies[(offset + i) % len(bodies)]
        t0 = time.perf_counter()
        st, raw = c.post(body)
        lat.append(time.perf_counter() - t0)
        if st != 200 or b'"errors":' in raw:
            errors += 1
        if time.perf_counter() > t_end:
            break
    c.close()
    return {"kind": "seq", **latency_stats(lat), "errors": errors}


def latency_stats(lat: list[float]) -> dict:
    lat = sorted(lat)
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
    return {
        "n": len(lat),
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "mean_ms": statistics.fmean(lat) * 1000,
        "rps": len(lat) / sum(lat),
    }


def measure(systems: list[System], args, raw_path: Path) -> None:
    order = list(systems)
    workloads = [w for w in args.workloads.split(",") if w in WORKLOADS]
    with open(raw_path, "a") as raw:
        for r in range(1, args.rounds + 1):
            for w in workloads:
                k = (r - 1) % len(order)
                for s in order[k:] + order[:k]:
                    offset = r * 101
                    t0 = time.time()
                    run_wrk(s, w, 16, args.warmup_seconds, offset + 500)  # warm-up, discarded
                    recs = [run_seq(s, w, args.seq_n, args.seq_max_seconds, offset)]
                    for conc in [int(c) for c in args.concurrency.split(",")]:
                        recs.append(run_wrk(s, w, conc, args.seconds, offset))
                    _flag_short_answers(s, w, recs)
                    for rec in recs:
                        rec.update({"round": r, "workload": w, "system": s.name, "loadavg1": os.getloadavg()[0]})
                        raw.write(json.dumps(rec) + "\n")
                    raw.flush()
                    line = "  ".join(
                        f"{x['kind']}: {x['rps']:.0f}/s p50 {x['p50_ms']:.2f} p99 {x['p99_ms']:.2f}" for x in recs
                    )
                    print(f"[round {r} {w} {s.name:<16}] {line}  ({time.time() - t0:.0f}s)", flush=True)


def _flag_short_answers(s: System, w: str, recs: list[dict]) -> None:
    """Answers much smaller than check() saw are errors in a 200 (a throttle, a masked failure)."""
    expected = s.expected_bytes.get(w)
    for rec in recs:
        got = rec.get("bytes_per_req")
        if expected and got is not None and got < 0.9 * expected:
            rec["short_answers"] = True
            print(
                f"WARNING: {s.name} {w} {rec['kind']}: {got:.0f} B per answer, check saw {expected} B: "
                f"errors inside HTTP 200? see the server log",
                flush=True,
            )
        if rec["kind"] == "seq" and rec["errors"]:
            print(f"WARNING: {s.name} {w} seq: {rec['errors']} answers with GraphQL errors", flush=True)
