"""Idle latency, now against an earlier revision, in many short pairs: a figure that holds through a
machine whose speed drifts.

Run it with:

    .venv/bin/python bench/pairs.py --baseline b88c973                 # SQLite, 16 rounds of 150 runs
    .venv/bin/python bench/pairs.py --baseline b88c973 --db postgres --rounds 8

One pair per round: plainrun at ``--baseline`` (a git worktree in a scratch folder, its package
first on the path, as ``bench/peers.py --baseline`` does) and this checkout, each a fresh
``plainrun serve --examples`` of ``bench/runs.py`` (fresh data folder; on PostgreSQL a fresh
database), warmed with 200 runs, then ``--samples`` idle runs one after another, each timed as
``bench/runs.py`` times idle latency (POST, then ``GET /v2/runs/{id}`` every millisecond until
Succeeded). The order alternates (then first in odd rounds, now first in even ones), so a drift
of the machine weighs on both alike. Each run's time is also cut where the client and the run's
own timestamps say: the POST's round trip, created → its answer, created → running, running →
finished, finished → the last poll sent, and the polls a run took.

It prints each round's medians and ratio now / then, and at the end the median and geometric
mean of the rounds' ratios and how many rounds were slower now (a single pair says little: on
this machine one build measured twice in a row differed by up to 15 %, and by up to 27 % between
the repetitions of one server). Results: ``bench/results/pairs-<db>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from runs import (
    RESULTS,
    ROOT,
    Bench,
    Client,
    Server,
    checkout,
    last_line_at,
    loop_factory,
    machine,
    write_result,
)

SEGMENTS = (
    "total",
    "post_rtt",
    "created_to_answer",
    "created_to_running",
    "running_to_finished",
    "finished_to_last_poll",
    "polls",
)


async def one_round(db: str, samples: int, pg_admin: str) -> dict[str, float]:
    """The medians of ``samples`` idle runs on a fresh server of the package first on the path."""
    with tempfile.TemporaryDirectory() as tmp, Server(db, Path(tmp), pg_admin, "bench_pairs") as server:
        demo = server.demo()
        client = Client(demo.url, demo.key)
        try:
            bench = Bench(client, demo, server)
            await asyncio.gather(*(bench.post("warm") for _ in range(200)))
            await bench.wait_idle()
            await asyncio.sleep(1.0)
            cut: dict[str, list[float]] = {name: [] for name in SEGMENTS}
            for _ in range(samples):
                for name, value in (await _one(bench, client)).items():
                    cut[name].append(value)
        finally:
            await client.close()
    return {name: statistics.median(values) for name, values in cut.items()}


async def _one(bench: Bench, client: Client) -> dict[str, float]:
    sent = time.time()
    run = await bench.post("latency")
    answered = polled = time.time()
    polls = 0
    while run["status"] != "Succeeded":
        if run["state"] not in ("Pending", "Running"):
            raise RuntimeError(f"run {run['id']} ended {run['state']}")
        await asyncio.sleep(0.001)
        polled = time.time()
        reply = await client.get(f"/v2/runs/{run['id']}")
        reply.raise_for_status()
        run = reply.json()
        polls += 1
    seen = time.time()
    created, started, finished = (
        dt.datetime.fromisoformat(run[k]).timestamp() for k in ("created_at", "started_at", "finished_at")
    )
    ms = {
        "total": seen - sent,
        "post_rtt": answered - sent,
        "created_to_answer": answered - created,
        "created_to_running": started - created,
        "running_to_finished": finished - started,
        "finished_to_last_poll": polled - finished,
    }
    return {**{k: v * 1e3 for k, v in ms.items()}, "polls": float(polls)}


def _measure(root: Path, args: argparse.Namespace) -> dict[str, float]:
    """One round of the build at ``root``, in a process of its own with that package first."""
    options = ["--one", "--db", args.db, "--samples", str(args.samples), "--pg-admin", args.pg_admin]
    result: dict[str, float] = json.loads(last_line_at(root, __file__, *options))
    return result


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ratios = [r["now"]["total"] / r["then"]["total"] for r in rounds]
    return {
        "rounds": len(rounds),
        "ratio_median": statistics.median(ratios),
        "ratio_geomean": math.exp(statistics.fmean(math.log(x) for x in ratios)),
        "slower_now": sum(x > 1 for x in ratios),
        "ratios": sorted(ratios),
        "then": {k: statistics.median(r["then"][k] for r in rounds) for k in SEGMENTS},
        "now": {k: statistics.median(r["now"][k] for r in rounds) for k in SEGMENTS},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--baseline", help="the earlier revision (git) measured against this checkout")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--rounds", type=int, default=16)
    ap.add_argument("--samples", type=int, default=150, help="idle runs per build and round")
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            medians = runner.run(one_round(args.db, args.samples, args.pg_admin))
        print(json.dumps(medians), flush=True)
        return 0
    if not args.baseline:
        ap.error("--baseline is required")
    rounds: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="plainrun-pairs-") as scratch,
        checkout(args.baseline, Path(scratch) / "baseline") as then,
    ):
        for i in range(1, args.rounds + 1):
            order = [("then", then), ("now", ROOT)]
            measured = {name: _measure(root, args) for name, root in order[:: (-1) ** (i + 1)]}
            rounds.append({**measured, "load1": os.getloadavg()[0]})
            now, was = measured["now"]["total"], measured["then"]["total"]
            print(
                f"[pairs] round {i}: then {was:.2f} ms, now {now:.2f} ms, now / then {now / was:.3f} "
                f"(load {rounds[-1]['load1']:.2f})",
                flush=True,
            )
    summary = _summary(rounds)
    print(
        f"[pairs] {args.db}, {summary['rounds']} rounds of {args.samples} idle runs: now / then median "
        f"{summary['ratio_median']:.3f}, geometric mean {summary['ratio_geomean']:.3f}, slower now in "
        f"{summary['slower_now']} of {summary['rounds']}",
        flush=True,
    )
    for k in SEGMENTS:
        print(f"[pairs]   {k:24} then {summary['then'][k]:7.2f}  now {summary['now'][k]:7.2f}", flush=True)
    result = {
        "baseline": args.baseline,
        "db": args.db,
        "samples": args.samples,
        "machine": machine(args.pg_admin, args.db),
    }
    write_result(RESULTS / f"pairs-{args.db}.json", {**result, "summary": summary, "rounds": rounds})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
