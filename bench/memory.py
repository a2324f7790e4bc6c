"""Memory of a real worker over 100,000 runs: its RSS (and its executor children's) as runs go by.

Run it with:

    .venv/bin/python bench/memory.py                          # SQLite, 100,000 runs
    .venv/bin/python bench/memory.py --runs 20000 --db postgres

It makes a fresh database (SQLite in a temporary folder, or a fresh PostgreSQL database
``bench_memory``), sets up the demo agent and processes as ``plainrun serve --examples`` does, and
starts ``plainrun worker`` (defaults: 64 runs in flight, one executor process per core, each
executor child replaced after 2,000 jobs) in its own session. Runs of the demo process "greet a
customer" are started in bulk through the store (``create_runs``, the path ``POST /v2/runs``
takes, with their ``created`` events), 5,000 at a time whenever fewer than ``--queue`` are
pending, so that the worker is never idle and the queue stays short.

Every ``--every`` finished runs (and at 1k, 10k, 50k and 100k) it samples, from /proc: the RSS of
the worker process itself, the RSS and PSS of every process in the worker's session (the worker,
the forkserver and the executor children), and how many there are. It reports RSS at 1k, 10k, 50k
and 100k runs, the growth ratios of the worker's RSS (100k / 10k, after warm-up, and 100k / 1k),
and checks at the end that every run Succeeded. Results: ``bench/results/memory-<db>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from runs import RESULTS, machine, proc_stats, psql, write_result

from plainrun.demo import seed
from plainrun.domain import ids
from plainrun.domain.runs import NewRun, Stage, Trigger
from plainrun.services.container import build_services
from plainrun.settings import Settings
from plainrun.store import schema

PG_DB = "bench_memory"
BATCH = 5000
MARKS = (1_000, 10_000, 50_000, 100_000)


def proc_kb(pid: int, path: str, field: str) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/{path}") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def session_pids(sid: int) -> list[int]:
    return [pid for pid, _, fields in proc_stats() if int(fields[3]) == sid]


def snapshot(worker_pid: int, done: int, t0: float) -> dict[str, Any]:
    pids = session_pids(worker_pid)
    others = [p for p in pids if p != worker_pid]
    return {
        "runs": done,
        "seconds": round(time.perf_counter() - t0, 2),
        "worker_rss_mb": proc_kb(worker_pid, "status", "VmRSS:") / 1024,
        "children": len(others),
        "children_rss_mb": sum(proc_kb(p, "status", "VmRSS:") for p in others) / 1024,
        "session_pss_mb": sum(proc_kb(p, "smaps_rollup", "Pss:") for p in pids) / 1024,
        "child_pids": sorted(others),
        "load1": os.getloadavg()[0],
    }


class Feeder:
    """Pending runs of one published process, inserted through the store in batches."""

    def __init__(self, store: Any, agent_id: str, process_id: str) -> None:
        process = store.processes.get(process_id)
        version = store.processes.version(process_id, process.published_version)
        self.store, self.agent_id, self.process_id = store, agent_id, process_id
        self.version, self.sha256 = version.version, version.sha256
        self.created = 0

    def add(self, count: int) -> None:
        now = dt.datetime.now(dt.UTC)
        new = []
        for _ in range(count):
            i = self.created
            self.created += 1
            new.append(
                NewRun(
                    id=ids.new_id(),
                    agent_id=self.agent_id,
                    process_id=self.process_id,
                    name=f"memory {i}",
                    stage=Stage.PUBLISHED,
                    version=self.version,
                    sha256=self.sha256,
                    inputs=[{"name": "customer name", "value": f"customer {i}"}],
                    file_ids=[],
                    trigger=Trigger.API,
                    max_attempts=3,
                    timeout_s=300.0,
                    created_at=now,
                )
            )
        self.store.runs.create(new)

    def counts(self) -> dict[str, int]:
        q = sa.select(sa.func.count()).select_from(schema.runs)
        with self.store.database.read() as tx:
            return {
                state: int(tx.scalar(q.where(schema.runs.c.state == state)) or 0)
                for state in ("Pending", "Running", "Succeeded")
            }


def start_worker(env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "plainrun"
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115 (the child keeps it; closed at exit)
    proc = subprocess.Popen(
        [str(exe), "worker"],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    print(f"[memory] started pid {proc.pid}: plainrun worker", flush=True)
    return proc


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    print(f"[memory] stopped pid {proc.pid} rc={proc.returncode}", flush=True)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if args.db == "sqlite":
        url = f"sqlite:///{workdir / 'plainrun.db'}"
    else:
        url = f"{args.pg_admin.rsplit('/', 1)[0]}/{PG_DB}"
        psql(args.pg_admin, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        psql(args.pg_admin, f"CREATE DATABASE {PG_DB}")
    env = {
        **os.environ,
        "PLAINRUN_DATABASE_URL": url,
        "PLAINRUN_DATA_DIR": str(workdir / "var"),
    }
    settings = Settings(database_url=url, data_dir=workdir / "var")
    services = build_services(settings, migrate=True)
    demo = seed(services)
    feeder = Feeder(services.store, demo.agent_id, demo.processes["greet a customer"])
    feeder.add(min(BATCH, args.runs))
    proc = start_worker(env, workdir)
    samples: list[dict[str, Any]] = []
    marks = sorted({*(m for m in MARKS if m <= args.runs), args.runs})
    next_sample = args.every
    t0 = time.perf_counter()
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited with {proc.returncode}")
            counts = feeder.counts()
            done = counts["Succeeded"]
            if counts["Pending"] < args.queue and feeder.created < args.runs:
                feeder.add(min(BATCH, args.runs - feeder.created))
            if done >= next_sample or (marks and done >= marks[0]):
                samples.append(snapshot(proc.pid, done, t0))
                s = samples[-1]
                print(
                    f"[memory] {done:>7,} runs, {s['seconds']:>6.0f} s: worker {s['worker_rss_mb']:.1f} MB, "
                    f"{s['children']} children {s['children_rss_mb']:.1f} MB, session PSS "
                    f"{s['session_pss_mb']:.1f} MB (load {s['load1']:.2f})",
                    flush=True,
                )
                while next_sample <= done:
                    next_sample += args.every
                while marks and marks[0] <= done:
                    marks.pop(0)
            finished = feeder.created >= args.runs and counts["Pending"] == 0 and counts["Running"] == 0
            if finished:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - t0
        final = feeder.counts()
    finally:
        stop_worker(proc)
        services.close()
        if args.db == "postgres":
            psql(args.pg_admin, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    if final["Succeeded"] != args.runs:
        raise RuntimeError(f"{args.runs} runs started, {final} at the end")
    return {"elapsed_s": elapsed, "samples": samples}


def at(samples: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    """The first sample taken at or after ``runs`` finished runs."""
    return next(s for s in samples if s["runs"] >= runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=5_000, help="sample every this many finished runs")
    ap.add_argument("--queue", type=int, default=2_000, help="top the queue up below this many pending")
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="plainrun-memory-") as tmp:
        measured = run(args, Path(tmp))
    samples = measured["samples"]
    points = {m: at(samples, m) for m in (*MARKS, args.runs) if m <= args.runs}
    last = at(samples, args.runs)
    growth = {
        "worker_rss_last_over_10k": last["worker_rss_mb"] / points[10_000]["worker_rss_mb"]
        if 10_000 in points
        else None,
        "worker_rss_last_over_1k": last["worker_rss_mb"] / points[1_000]["worker_rss_mb"],
        "session_pss_last_over_10k": last["session_pss_mb"] / points[10_000]["session_pss_mb"]
        if 10_000 in points
        else None,
    }
    child_pids = {p for s in samples for p in s["child_pids"]}
    result = {
        "db": args.db,
        "runs": args.runs,
        "elapsed_s": measured["elapsed_s"],
        "runs_per_s": args.runs / measured["elapsed_s"],
        "at": {str(k): {x: v for x, v in p.items() if x != "child_pids"} for k, p in points.items()},
        "growth": growth,
        "distinct_child_pids_seen": len(child_pids),
        "samples": [{x: v for x, v in s.items() if x != "child_pids"} for s in samples],
        "machine": machine(args.pg_admin, args.db),
    }
    print(f"\nplainrun worker on {args.db}, {args.runs:,} runs in {measured['elapsed_s']:.0f} s")
    print(f"{'runs':>9}{'worker RSS MB':>15}{'children RSS MB':>17}{'session PSS MB':>16}{'load':>7}")
    for k, p in points.items():
        print(
            f"{k:>9,}{p['worker_rss_mb']:>15.1f}{p['children_rss_mb']:>17.1f}"
            f"{p['session_pss_mb']:>16.1f}{p['load1']:>7.2f}"
        )
    print("growth: " + ", ".join(f"{k} {v:.3f}" for k, v in growth.items() if v is not None))
    out = write_result(RESULTS / f"memory-{args.db}.json", result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
