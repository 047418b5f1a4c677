"""Scaling mode: the same workloads on 10k / 100k / 1M exceptions, measured interleaved in one run.

Every scale has its own cluster (database.data_dir(scale)); our server and the baseline run once per
scale (ports 5620/5622, 5630/5632, …), named "sentinai@<scale>" / "baseline@<scale>", and the rounds
interleave all of them, so the ratios between scales come from one run. Then page 1 vs page 1,000
(or the last full page) of `exceptions` at every scale. Output: scaling.md + the usual raw.jsonl.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys

import asyncpg
import database
import measure
import paging
import report


def tenant_size(cluster: database.Cluster) -> int:
    async def count():
        con = await asyncpg.connect(cluster.owner_dsn)
        try:
            return await con.fetchval("SELECT count(*) FROM exception WHERE tenant_id = $1", database.BENCH_TENANT)
        finally:
            await con.close()

    return asyncio.run(count())


def run(args, run_dir, prepare, build_systems) -> None:
    scales = [int(x) for x in args.scales.split(",")]
    names = [n for n in args.systems.split(",") if n in ("sentinai", "baseline")]
    groups, loads, keys_by_scale = [], {}, {}
    for i, scale in enumerate(scales):
        cluster, loads[scale] = prepare(scale, args.reload)
        keys_by_scale[scale] = database.create_keys(cluster)
        systems = build_systems(
            names, cluster, keys_by_scale[scale], args.sentinai_launcher, port_offset=10 * (i + 1), suffix=f"@{scale}"
        )
        measure.write_bodies(systems, measure.make_variables(cluster, args.n_bodies, args.seed), run_dir / "bodies")
        groups.append((scale, cluster, systems))
    meta = {
        "started_utc": run_dir.name,
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "mode": "scaling",
        "scales": scales,
        "tenant": database.BENCH_TENANT,
        "args": vars(args),
        "data_load": loads,
    }
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    checks = {}
    for scale, _, systems in groups:
        if len(systems) > 1:
            rep = measure.check(systems, systems[0].name, min(args.check_n, 10))
            checks[scale] = {
                w: {n: v["all_values_match_reference"] for n, v in per.items()} for w, per in rep["workloads"].items()
            }
    print(f"[check] {json.dumps(checks)}", flush=True)
    all_systems = [s for _, _, systems in groups for s in systems]
    if any(w in measure.WORKLOADS for w in args.workloads.split(",")):
        measure.measure(all_systems, args, run_dir / "raw.jsonl")
    pages = {}
    if "paging" in args.workloads.split(","):
        for scale, cluster, systems in groups:
            ours = next((s for s in systems if s.name.startswith("sentinai")), None)
            if ours:
                pages[scale] = paging.run(
                    ours.url, keys_by_scale[scale]["viewer"], tenant_size(cluster), n=args.paging_n
                )
                print(f"[paging {scale}] {json.dumps(pages[scale])}", flush=True)
    (run_dir / "extras.json").write_text(json.dumps({"checks": checks, "paging": pages}, indent=2))
    md = render(run_dir, scales, pages, checks)
    print(md)


def render(run_dir, scales, pages, checks) -> str:
    lines = [
        "# Scaling run " + run_dir.name,
        "",
        f"Scales: {', '.join(f'{s:,}' for s in scales)} exceptions "
        "(20 tenants; the measured tenant holds 1/20 of them). Medians over rounds.",
        "",
    ]
    raw = run_dir / "raw.jsonl"
    ref = 100_000 if 100_000 in scales else scales[0]
    if raw.exists() and raw.read_text().strip():
        med, rounds = report.medians(raw)
        head = " / ".join(f"{s:,}" for s in scales)
        ratio_cols = [s for s in scales if s != ref]
        lines += [
            f"seq p50 ms (one sequential client) and c16 req/s; ratio = scale ÷ {ref:,} (p50).",
            "",
            f"| workload | system | seq p50 ms: {head} | c16 req/s: {head} | "
            + " | ".join(f"p50 ratio {s:,}/{ref:,}" for s in ratio_cols)
            + " |",
            "|---|---|" + "---:|" * (len(ratio_cols) + 2),
        ]  # the scales of one metric share a cell
        systems = list(dict.fromkeys(k[0].split("@")[0] for k in med))
        for w in dict.fromkeys(k[1] for k in med):
            for name in systems:
                p50 = {s: med.get((f"{name}@{s}", w, "seq"), {}).get("p50_ms") for s in scales}
                rps = {s: med.get((f"{name}@{s}", w, "c16"), {}).get("rps") for s in scales}
                ratios = [report.f(p50[s] / p50[ref]) if p50[s] and p50[ref] else "–" for s in ratio_cols]
                lines.append(
                    f"| {w.upper()} | {name} | {' / '.join(report.f(p50[s]) for s in scales)} "
                    f"| {' / '.join(report.f(rps[s], 1) for s in scales)} | " + " | ".join(ratios) + " |"
                )
        lines.append("")
    if pages:
        lines += [
            "Page 1 vs deep page of `exceptions(first: 20)` (sequential, alternating):",
            "",
            "| scale | deep page | page 1 p50 ms | deep page p50 ms | ratio |",
            "|---:|---:|---:|---:|---:|",
        ]
        for s, p in pages.items():
            lines.append(
                f"| {int(s):,} | {p['page']} | {p['page1_p50_ms']:.2f} | {p['deep_p50_ms']:.2f} "
                f"| {p['ratio_p50']:.2f} |"
            )
        lines.append("")
    lines += ["Same values from our server and the baseline (per scale, workload): " + json.dumps(checks), ""]
    md = "\n".join(lines)
    (run_dir / "scaling.md").write_text(md)
    return md


if __name__ == "__main__":  # re-render: python bench/tools/scaling.py <run dir>
    import pathlib

    folder = pathlib.Path(sys.argv[1])
    extras = json.loads((folder / "extras.json").read_text())
    meta = json.loads((folder / "meta.json").read_text())
    print(render(folder, meta["scales"], extras["paging"], extras["checks"]))
