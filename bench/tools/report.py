"""Medians over rounds, ratios to the baseline and to PostGraphile, the issue's targets, markdown.

.venv/bin/python bench/tools/report.py /tmp/sentinai-bench/runs/<stamp>   # re-render summary.md
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

OURS, BASE, PG = "sentinai", "baseline", "postgraphile-v4"
METRICS = ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_req", "pg_cpu_ms_per_req", "n", "errors")


def medians(raw_path: Path) -> tuple[dict, int]:
    recs = [json.loads(x) for x in raw_path.read_text().splitlines() if x.strip()]
    groups: dict = {}
    for r in recs:
        groups.setdefault((r["system"], r["workload"], r["kind"]), []).append(r)
    med = {}
    for key, rs in groups.items():
        med[key] = {m: statistics.median([r[m] for r in rs if m in r]) for m in METRICS if any(m in r for r in rs)}
        med[key]["errors"] = sum(r.get("errors", 0) for r in rs)
        med[key]["short"] = any(r.get("short_answers") for r in rs)
        med[key]["range_rps"] = (min(r["rps"] for r in rs), max(r["rps"] for r in rs))
    rounds = max((r["round"] for r in recs), default=0)
    return med, rounds


def rows(med: dict, statements: dict | None) -> list[dict]:
    out = []
    systems = list(dict.fromkeys(k[0] for k in med))
    for w in dict.fromkeys(k[1] for k in med):
        for s in systems:
            if (s, w, "seq") not in med:
                continue
            seq, c1, c16 = med[(s, w, "seq")], med.get((s, w, "c1"), {}), med.get((s, w, "c16"), {})
            row = {
                "workload": w,
                "system": s,
                "seq_p50": seq["p50_ms"],
                "seq_p99": seq["p99_ms"],
                "c1_rps": c1.get("rps"),
                "c1_p50": c1.get("p50_ms"),
                "c16_rps": c16.get("rps"),
                "c16_p50": c16.get("p50_ms"),
                "c16_p99": c16.get("p99_ms"),
                "server_cpu": c16.get("server_cpu_ms_per_req"),
                "pg_cpu": c16.get("pg_cpu_ms_per_req"),
                "statements": (statements or {}).get(s, {}).get(w),
                "errors": seq["errors"] + c1.get("errors", 0) + c16.get("errors", 0),
                "short": c1.get("short") or c16.get("short"),
                "c16_range": c16.get("range_rps"),
            }
            out.append(row)
    for row in out:
        for ref in (BASE, PG):
            r = next((x for x in out if x["system"] == ref and x["workload"] == row["workload"]), None)
            row[f"vs_{ref}"] = _ratios(row, r) if r else None
    return out


def _ratios(row: dict, ref: dict) -> dict:
    def div(a, b):
        return a / b if a is not None and b else None

    cpu = (row["server_cpu"] or 0) + (row["pg_cpu"] or 0)
    ref_cpu = (ref["server_cpu"] or 0) + (ref["pg_cpu"] or 0)
    return {
        "seq_p50": div(row["seq_p50"], ref["seq_p50"]),
        "seq_p99": div(row["seq_p99"], ref["seq_p99"]),
        "c1_rps": div(row["c1_rps"], ref["c1_rps"]),
        "c16_rps": div(row["c16_rps"], ref["c16_rps"]),
        "cpu": div(cpu, ref_cpu),
        "statements": div(row["statements"], ref["statements"]),
    }


def f(v, d=2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{d}f}" if isinstance(v, float) else str(v)


def headline(rws: list[dict]) -> list[str]:
    lines = [
        "| workload | system | seq p50 ms | seq p99 ms | c1 req/s | c16 req/s | c16 p99 ms | CPU ms/req "
        "(server + PG) | SQL stmts/req | ÷ baseline: p50 · c16 req/s · CPU "
        "| ÷ PostGraphile: p50 · c16 req/s · CPU "
        "| errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rws:
        cpu = f"{f(r['server_cpu'])} + {f(r['pg_cpu'])}"
        vb, vp = r["vs_baseline"], r[f"vs_{PG}"]
        rb = f"{f(vb['seq_p50'])} · {f(vb['c16_rps'], 3)} · {f(vb['cpu'])}" if vb else "–"
        rp = f"{f(vp['seq_p50'])} · {f(vp['c16_rps'], 3)} · {f(vp['cpu'])}" if vp else "–"
        short = " + short answers" if r["short"] else ""
        lines.append(
            f"| {r['workload'].upper()} | {r['system']} | {f(r['seq_p50'])} | {f(r['seq_p99'])} "
            f"| {f(r['c1_rps'], 1)} | {f(r['c16_rps'], 1)} | {f(r['c16_p99'])} | {cpu} "
            f"| {f(r['statements'], 1)} | {rb} | {rp} | {r['errors']}{short} |"
        )
    return lines


def targets(rws: list[dict], statements: dict | None, extras: dict) -> list[str]:
    out = ["| target | workload | measured | met? |", "|---|---|---|---|"]
    ours = {r["workload"]: r for r in rws if r["system"] == OURS}
    for w, r in ours.items():
        vp, vb = r.get(f"vs_{PG}"), r.get("vs_baseline")
        if vp and vp["c16_rps"]:
            x = vp["c16_rps"]
            verdict = "yes" if x >= 1 else f"no: needs {1 / x:.1f}× the throughput"
            out.append(f"| c16 req/s ≥ PostGraphile 4 | {w.upper()} | {x:.2f}× PostGraphile | {verdict} |")
        if vb and vb["seq_p50"]:
            x = vb["seq_p50"]
            verdict = "yes" if x <= 2 else f"no: {x / 2:.1f}× over the limit"
            out.append(f"| seq p50 ≤ 2× baseline | {w.upper()} | {x:.2f}× baseline | {verdict} |")
        stm = (statements or {}).get(OURS, {}).get(w)
        if stm is not None:
            verdict = ("yes" if stm <= 5 else f"no: {stm:.1f} > 5") if w == "w1" else "constant per request"
            out.append(
                f"| SQL statements bounded by depth (W1 ≤ 5) | {w.upper()} | {stm:.1f} per request | {verdict} |"
            )
    paging = extras.get("paging")
    if paging:
        x, page = paging["ratio_p50"], paging["page"]
        note = "" if page == 1000 else f" (page {page}: the tenant has fewer than 20,000 exceptions)"
        verdict = ("yes" if x <= 1.2 else "no") + note
        out.append(
            f"| page {page} ≤ 1.2× page 1 | exceptions(first: 20) | {x:.2f}× "
            f"({paging['deep_p50_ms']:.2f} vs {paging['page1_p50_ms']:.2f} ms p50) | {verdict} |"
        )
    ing = extras.get("ingest")
    if ing:
        v = ing["verify"]
        out.append(
            f"| ingestion reported, none lost or duplicated | ingest ({ing.get('mode', 'single')}) "
            f"| {ing['new_events_per_s']:.0f} new events/s, "
            f"{ing['requests_per_s']:.0f} mutations/s ({ing['replay_share'] * 100:.0f} % replays); "
            f"lost {v['lost']}, duplicated {v['duplicated']}, wrong answers {ing['wrong_answers']} "
            f"| {'yes' if v['ok'] and not ing['wrong_answers'] else 'NO'} |"
        )
    return out


def render(run_dir: Path) -> str:
    meta = json.loads((run_dir / "meta.json").read_text())
    check = json.loads((run_dir / "check.json").read_text()) if (run_dir / "check.json").exists() else {}
    extras = json.loads((run_dir / "extras.json").read_text()) if (run_dir / "extras.json").exists() else {}
    statements = check.get("sql_statements_per_request")
    lines = [
        f"# Benchmark run {meta['started_utc']}",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Scale: {meta['scale']:,} exceptions (20 tenants), tenant {meta['tenant']}. "
        f"Data load: {json.dumps(meta.get('data_load'))}",
        "",
    ]
    raw = run_dir / "raw.jsonl"
    if raw.exists() and raw.read_text().strip():
        med, rounds = medians(raw)
        rws = rows(med, statements)
        (run_dir / "summary.json").write_text(json.dumps(rws, indent=2))
        lines += (
            [
                f"Medians of {rounds} interleaved round(s). seq = one sequential client; c1/c16 = wrk with 1/16 "
                "connections; CPU during c16; ratios = system ÷ reference (p50 and CPU: lower is better; "
                "req/s: higher is better).",
                "",
            ]
            + headline(rws)
            + [""]
        )
        lines += [
            "c16 req/s range over rounds: "
            + "; ".join(
                f"{r['workload'].upper()} {r['system']} {r['c16_range'][0]:.0f}–{r['c16_range'][1]:.0f}"
                for r in rws
                if r["c16_range"]
            ),
            "",
        ]
        lines += ["## Targets (issue 5)", ""] + targets(rws, statements, extras) + [""]
    if check:
        lines += ["## Correctness (same data from every system)", ""]
        for w, per in check["workloads"].items():
            for name, v in per.items():
                ids = "OK" if v["ids_and_counts_match_reference"] else "MISMATCH"
                values = "OK" if v["all_values_match_reference"] else f"DIFF {v['first_difference']}"
                lines.append(
                    f"- {w.upper()} {name}: ids/counts {ids}, values {values}, "
                    f"{v['median_response_bytes']:,} B, {v['first_request']} {v['errors'] or ''}"
                )
        lines.append("")
    if extras:
        lines += ["## Extras", "", "```json", json.dumps(extras, indent=2, default=str), "```", ""]
    md = "\n".join(lines)
    (run_dir / "summary.md").write_text(md)
    return md


if __name__ == "__main__":
    print(render(Path(sys.argv[1])))
