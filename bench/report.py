"""Markdown tables of the latest results in bench/results, for docs/benchmarks.md.

Run it with:

    .venv/bin/python bench/report.py

It reads ``lists-<db>.json``, ``steps-<db>.json`` and ``memory-<db>.json`` (whichever exist) and
prints one table for each, with the ratios and the 1-minute load average recorded with them; the
peers' table is ``bench/results/peers.md``, written by ``bench/peers.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def lists() -> list[str]:
    out = []
    for db in ("sqlite", "postgres"):
        r = load(f"lists-{db}.json")
        if r is None:
            continue
        f, q = r["latency_ms"], r["ratios"]
        out += [
            f"**{db}**, {r['runs']:,} runs, `limit={r['page']}`, {r['samples']} requests of each kind "
            f"interleaved, measured {r['machine']['date_utc']}, load {r['load1'][0]:.2f} → "
            f"{r['load1'][1]:.2f}; filled in {r['fill']['fill_s']:.0f} s.",
            "",
            "| request | p50 ms | p95 ms | p99 ms |",
            "|---|---:|---:|---:|",
        ]
        labels = {
            "health": "`GET /v2/health` (baseline)",
            "list_1k_first": "first page, process with 1,000 runs (baseline)",
            "list_big_first": f"first page, process with {r['runs']:,} runs",
            "list_big_deep": f"page at {r['deep_position']:,} of {r['runs']:,}",
        }
        for k, label in labels.items():
            out.append(f"| {label} | {f[k]['p50']:.1f} | {f[k]['p95']:.1f} | {f[k]['p99']:.1f} |")
        w = r["walk"]
        out += [
            "",
            f"Ratios: deep page / first page **{q['deep_over_first_p50']:.2f}** (p50), "
            f"**{q['deep_over_first_p95']:.2f}** (p95); first page at {r['runs']:,} runs / at 1,000 "
            f"runs {q['big_first_over_1k_first_p50']:.2f} (p50), {q['big_first_over_1k_first_p95']:.2f} "
            f"(p95); first page / health {q['big_first_over_health_p95']:.2f} (p95). Following the token "
            f"for {w['pages']} pages: {w['seconds']:.1f} s, first 10 pages p50 "
            f"{w['first_10_pages_p50_ms']:.1f} ms, last 10 p50 {w['last_10_pages_p50_ms']:.1f} ms.",
            "",
        ]
    return out


def steps() -> list[str]:
    rows = []
    for db in ("sqlite", "postgres"):
        r = load(f"steps-{db}.json")
        if r is None:
            continue
        s = r["summary"]
        loads = [r_[k]["load1"] for r_ in r["runs"] for k in ("1", "40")]
        rows.append(
            f"| {db} | {r['n']} x {r['reps']} | {s['e2e_rate_1']:.0f} | {s['e2e_rate_40']:.0f} | "
            f"**{s['e2e_ratio_40_over_1']:.2f}** | {s['latency_ms_1']:.1f} | {s['latency_ms_40']:.1f} | "
            f"**{s['latency_ratio_40_over_1']:.2f}** | {min(loads):.1f} - {max(loads):.1f} | "
            f"{r['machine']['date_utc']} |"
        )
    if not rows:
        return []
    return [
        "| database | N x reps | runs/s, 1 statement | runs/s, 40 | ratio 40/1 | latency ms, 1 | "
        "latency ms, 40 | ratio 40/1 | load 1 min | measured |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
        *rows,
        "",
        "Medians over the repetitions; each ratio is the median of the per-repetition ratios.",
        "",
    ]


def memory() -> list[str]:
    out = []
    for db in ("sqlite", "postgres"):
        r = load(f"memory-{db}.json")
        if r is None:
            continue
        out += [
            f"**{db}**: {r['runs']:,} runs in {r['elapsed_s']:.0f} s ({r['runs_per_s']:.0f} runs/s), "
            f"measured {r['machine']['date_utc']}; {r['distinct_child_pids_seen']} executor-side "
            "processes seen in the samples (children are replaced after 2,000 jobs).",
            "",
            "| runs finished | worker RSS MB | executor processes | their RSS MB | PSS of all MB "
            "| load 1 min |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for k, p in r["at"].items():
            out.append(
                f"| {int(k):,} | {p['worker_rss_mb']:.1f} | {p['children']} | {p['children_rss_mb']:.1f} | "
                f"{p['session_pss_mb']:.1f} | {p['load1']:.2f} |"
            )
        g = r["growth"]
        parts = [f"worker RSS at the end / at 1,000 runs **{g['worker_rss_last_over_1k']:.3f}**"]
        if g.get("worker_rss_last_over_10k") is not None:
            parts.append(f"/ at 10,000 runs **{g['worker_rss_last_over_10k']:.3f}**")
        if g.get("session_pss_last_over_10k") is not None:
            parts.append(f"PSS of all at the end / at 10,000 runs **{g['session_pss_last_over_10k']:.3f}**")
        out += ["", "Growth: " + ", ".join(parts) + ".", ""]
    return out


def main() -> int:
    for title, lines in (("Lists", lists()), ("40 statements", steps()), ("Memory", memory())):
        if lines:
            print(f"<!-- {title} -->\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
