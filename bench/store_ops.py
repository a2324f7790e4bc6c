"""CPU per store operation of one run's life (start, claim, finish) on SQLite, in one process.

Run it with:

    .venv/bin/python bench/store_ops.py                      # this checkout, 3 rounds of 3,000 runs
    .venv/bin/python bench/store_ops.py --baseline b88c973   # and that revision, rounds alternating
    .venv/bin/python bench/store_ops.py --drop ix_runs_agent_list   # without an index, to see its share

Each round copies a database made by ``plainrun serve --examples`` of the revision measured (its
demo process and 2,000 runs of it, made once per revision and invocation through ``bench/runs.py``'s
server), opens two stores on it as the API and the worker do
(each its own connections, so each transaction after the other's finds its page cache stale), and
times with ``time.process_time`` each run's insert (API store), claim and finish (worker store),
one run at a time, after 200 to warm up. The figures are means in µs per operation; the statements
and commits are SQLite's own C time, the rest the store's Python. ``--baseline`` measures that
revision's store the same way (a git worktree, its package first on the path; the revisions before
the store's protocol had ``SqlStore.create_runs/claim_runs/finish_runs``, taken as they were).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runs import ROOT, Bench, Client, Server, checkout, last_line_at

OPS = ("create", "claim", "finish")


def _made_database(folder: Path) -> Path:
    """A database of ``plainrun serve --examples`` (of the package first on the path) with 2,000 runs,
    checkpointed."""

    async def fill() -> None:
        with Server("sqlite", folder, "postgresql://postgres@127.0.0.1:5432/postgres") as server:
            demo = server.demo()
            client = Client(demo.url, demo.key)
            bench = Bench(client, demo, server)
            for _ in range(4):
                await asyncio.gather(*(bench.post("warm") for _ in range(500)))
                await bench.wait_idle()
            await client.close()

    asyncio.run(fill())
    db = folder / "plainrun.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def _operations(url: str) -> tuple[Any, Any, Any, Any]:
    """new_run(i), create(new), claim(), finish(run) on two stores of the package on the path."""
    from plainrun.store import open_store

    api, worker = open_store(url), open_store(url)
    try:
        from plainrun.domain import ids
        from plainrun.domain.runs import NewRun, Outcome, RunState, Stage, Trigger

        def create(new: Any) -> Any:
            return api.runs.create([new])[0]

        def claim() -> Any:
            return worker.execution.claim("w", limit=8, lease_s=30)

        def finish(outcome: Any) -> Any:
            return worker.execution.finish([outcome])
    except ImportError:  # a revision before the store's protocol
        from plainrun.store.records import NewRun, Outcome  # type: ignore[no-redef]

        from plainrun import ids  # type: ignore[no-redef]
        from plainrun.domain.runs import RunState, Stage, Trigger  # type: ignore[no-redef]

        def create(new: Any) -> Any:
            return api.create_runs([new])[0]

        def claim() -> Any:
            return worker.claim_runs("w", limit=8, lease_s=30)

        def finish(outcome: Any) -> Any:
            return worker.finish_runs([outcome])

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    agent, process, sha = conn.execute("SELECT agent_id, process_id, sha256 FROM runs LIMIT 1").fetchone()
    conn.close()

    def new_run(i: int) -> Any:
        return NewRun(
            id=ids.new_id(),
            agent_id=agent,
            process_id=process,
            name=f"p {i}",
            stage=Stage.PUBLISHED,
            version=1,
            sha256=sha,
            inputs=[{"name": "customer name", "value": f"customer {i}"}],
            file_ids=[],
            trigger=Trigger.API,
            max_attempts=3,
            timeout_s=300.0,
            created_at=datetime.now(UTC),
        )

    def done(run: Any) -> Any:
        return finish(
            Outcome(run.id, run.attempt, RunState.SUCCEEDED, outputs=[{"name": "g", "value": "Hi!"}])
        )

    return new_run, create, claim, done


def one_round(source: Path, runs: int, drop: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "p.db"
        shutil.copy(source, db)
        conn = sqlite3.connect(db)
        for index in drop:
            conn.execute(f"DROP INDEX {index}")
        conn.close()
        new_run, create, claim, finish = _operations(f"sqlite:///{db}")
        spent: dict[str, list[float]] = {op: [] for op in OPS}
        clock = time.process_time
        for i in range(runs + 200):
            new = new_run(i)
            a = clock()
            create(new)
            b = clock()
            (run,) = claim()
            c = clock()
            finish(run)
            d = clock()
            if i >= 200:
                for op, took in zip(OPS, (b - a, c - b, d - c), strict=True):
                    spent[op].append(took)
    return {op: statistics.fmean(v) * 1e6 for op, v in spent.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--baseline", help="an earlier revision (git) measured the same way, rounds alternating")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--drop", action="append", default=[], help="an index dropped before measuring")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.make:
        print(_made_database(args.make), flush=True)
        return 0
    if args.one:
        print(json.dumps(one_round(args.one, args.runs, args.drop)), flush=True)
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="plainrun-store-ops-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        builds = [("now", ROOT)]
        if args.baseline:
            builds.insert(
                0, ("then", stack.enter_context(checkout(args.baseline, Path(scratch) / "baseline")))
            )
        made = {}
        for name, root in builds:
            (Path(scratch) / name).mkdir()
            made[name] = last_line_at(root, __file__, "--make", str(Path(scratch) / name))
        drops = [x for index in args.drop for x in ("--drop", index)]
        for i in range(1, args.rounds + 1):
            for name, root in builds[:: (-1) ** (i + 1)]:
                options = ["--one", made[name], "--runs", str(args.runs), *drops]
                us = json.loads(last_line_at(root, __file__, *options))
                cells = "  ".join(f"{op} {us[op]:5.0f}" for op in OPS)
                print(
                    f"[store_ops] round {i} {name:4}: {cells}  all {sum(us.values()):5.0f} µs a run "
                    f"(load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
