"""plainrun side by side with the peer engines, one after another in one invocation.

Run it with:

    .venv/bin/python bench/peers.py                           # N=1000, 2 reps, 30 latency samples
    .venv/bin/python bench/peers.py --n 500 --reps 1 --only celery,pgqueuer

It runs, in this order and with the same N, repetitions and latency samples:

* ``bench/runs.py`` for plainrun on SQLite and on PostgreSQL, each twice: with 8 concurrent HTTP
  clients (``plainrun-<db>``) and with one client posting one run at a time
  (``plainrun-<db>-1client``), the peers' own way of enqueueing; with ``--baseline REV``, each
  just after the same measurement of plainrun at the git revision REV (a worktree in the scratch
  folder, its package first on the path), and a table of the ratios now / then;
* every peer of /work/shared/bench/peers whose virtualenv exists under ``--venvs``
  (``<venvs>/<peer>/bin/python``, installed as that folder's README says): celery,
  procrastinate, pgqueuer, dbos (PostgreSQL and SQLite, queue polled every 0.05 s) and prefect
  (background tasks with N = ``--prefect-n``, 50, as it runs about one task a second here; with
  ``--slow`` also deployments, N=20 and 10 latency samples as in the peers' own runs, which took
  more than 10 minutes here and are left out by default to keep the whole under 15 minutes).

The peers' scripts are copied to a scratch folder first (they write their logs and results beside
themselves, and the shared folder stays untouched); PostgreSQL needs the role ``root``/``root`` and
the database ``bench`` (see the peers' README), Redis 127.0.0.1:6379 for celery.

Every figure comes with the 1-minute load average of the machine when its system started and
finished, because the machine is shared. The table (``bench/results/peers.md``) shows each figure
and the ratio plainrun / peer from this one invocation: above 1 is better for rates, below 1 is
better for latency. The raw results of every system are kept in ``bench/results/peers.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runs import checkout

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PEERS_SRC = Path("/work/shared/bench/peers")
VENVS = Path("/work/peer-venvs")


@dataclass
class System:
    """One row of the table: a command that writes one result file in the peers' format."""

    name: str
    kind: str  # "plainrun" or "peer"
    cmd: list[str]
    result: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    note: str = ""


def load1() -> float:
    return os.getloadavg()[0]


def plainrun_systems(args: argparse.Namespace, work: Path, baseline: Path | None = None) -> list[System]:
    """plainrun on each database, with 8 clients and with one; with ``baseline`` (a checkout of an
    earlier commit), that commit's plainrun just before each, measured the same way."""
    out = []
    for db in args.dbs:
        for clients in (args.clients, 1):
            if baseline is not None:
                out.append(_plainrun_system(args, work, db, clients, baseline, f"@{args.baseline}"))
            out.append(_plainrun_system(args, work, db, clients, ROOT, ""))
    return out


def _plainrun_system(
    args: argparse.Namespace, work: Path, db: str, clients: int, root: Path, suffix: str
) -> System:
    name = (f"plainrun-{db}" if clients != 1 else f"plainrun-{db}-1client") + suffix
    options = {
        "--db": db,
        "--n": args.n,
        "--reps": args.reps,
        "--lat-samples": args.lat_samples,
        "--clients": clients,
        "--duration": args.duration,
        "--pg-db": "bench_plainrun_peers",
        "--peers": work / "none",
        "--out": work / "results" / f"{name}.json",
    }
    cmd = [sys.executable, str(root / "bench" / "runs.py"), *(str(x) for kv in options.items() for x in kv)]
    note = f"{clients} concurrent HTTP clients" if clients != 1 else "one client, one run at a time"
    # The baseline's package is found first on the path (the virtualenv's is this checkout).
    env = {"PYTHONPATH": str(root)} if root != ROOT else {}
    kind = "plainrun" if root == ROOT else "baseline"
    return System(name, kind, cmd, work / "results" / f"{name}.json", env=env, cwd=root, note=note)


def peer_systems(args: argparse.Namespace, peers: Path, venvs: Path) -> list[System]:
    def py(peer: str) -> str:
        return str(venvs / peer / "bin" / "python")

    n_tasks = str(min(args.n, args.prefect_n))
    table = [
        ("celery", "celery", ["celery/bench.py"], {}, "Redis broker and results, prefork x2"),
        ("procrastinate", "procrastinate", ["procrastinate/bench.py"], {}, "PostgreSQL, async x10"),
        ("pgqueuer", "pgqueuer", ["pgqueuer/bench.py"], {}, "PostgreSQL, asyncpg"),
        (
            "dbos-pg-qpoll0.05",
            "dbos",
            ["dbos/bench.py", "pg"],
            {"BENCH_DBOS_QUEUE_POLL": "0.05"},
            "PostgreSQL, queue polled every 0.05 s",
        ),
        (
            "dbos-sqlite-qpoll0.05",
            "dbos",
            ["dbos/bench.py", "sqlite"],
            {"BENCH_DBOS_QUEUE_POLL": "0.05"},
            "SQLite, queue polled every 0.05 s",
        ),
        (
            "prefect-tasks",
            "prefect",
            ["prefect/bench.py", "tasks"],
            {"BENCH_N_PREFECT_TASKS": n_tasks},
            f"background tasks, N={n_tasks}",
        ),
        (
            "prefect-deploy",
            "prefect",
            ["prefect/bench.py", "deploy"],
            {"BENCH_N_PREFECT_DEPLOY": "20", "BENCH_LAT_SAMPLES_PREFECT_DEPLOY": "10"},
            "deployments, a process per run, N=20, 10 latency samples",
        ),
    ]
    out = []
    for name, venv, script, env, note in table:
        if args.only and name not in args.only and venv not in args.only:
            continue
        if name == "prefect-deploy" and not args.slow and name not in args.only:
            continue
        if not Path(py(venv)).exists():
            print(f"[peers] {name}: no virtualenv at {venvs / venv}, left out", flush=True)
            continue
        out.append(
            System(
                name,
                "peer",
                [py(venv), *script],
                peers / "results" / f"{name}.json",
                env={"BENCH_RESULT_NAME": name, **env},
                cwd=peers,
                note=note,
            )
        )
    return out


def copy_peers(src: Path, dest: Path) -> Path:
    """The peers' scripts in a writable scratch folder, without their old results, data or venvs."""
    target = dest / "peers"
    shutil.copytree(
        src,
        target,
        ignore=shutil.ignore_patterns("results", "data", "venvs", "*.pid", "*.log", "__pycache__"),
        copy_function=shutil.copyfile,
    )
    for folder, _, _ in os.walk(target):
        os.chmod(folder, 0o755)
    (target / "results").mkdir()
    return target


def stop_leftovers(work: Path) -> None:
    """Stop what a system left running: processes working in, or started from, the scratch folder
    (a peer's worker or server lives in a session of its own), each by its pid."""
    mine = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry.name}/cwd")
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(work)) or str(work) in cmdline:
            mine.append(int(entry.name))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if not mine:
            return
        print(f"[peers] stopped leftover processes {mine}", flush=True)
        time.sleep(3)
        mine = [pid for pid in mine if Path(f"/proc/{pid}").exists()]


def run_system(system: System, log_dir: Path, timeout: float) -> dict[str, Any]:
    log = log_dir / f"{system.name}.log"
    before, t0 = load1(), time.monotonic()
    print(f"[peers] {system.name}: {' '.join(system.cmd)} (load {before:.2f})", flush=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            system.cmd,
            cwd=system.cwd or ROOT,
            env={**os.environ, **system.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"[peers] {system.name}: still running after {timeout:g} s, interrupted", flush=True)
            os.killpg(proc.pid, signal.SIGINT)  # the peers' scripts stop their workers on the way out
            try:
                rc = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
    stop_leftovers(log_dir)
    elapsed, after = time.monotonic() - t0, load1()
    record: dict[str, Any] = {
        "name": system.name,
        "kind": system.kind,
        "note": system.note,
        "rc": rc,
        "elapsed_s": round(elapsed, 1),
        "load1_start": before,
        "load1_end": after,
        "log": str(log),
    }
    if rc == 0 and system.result.exists():
        record["result"] = json.loads(system.result.read_text())
        s = record["result"]["summary"]
        print(
            f"[peers] {system.name}: enqueue {s['enqueue_rate']['median']:.0f}/s, "
            f"e2e {s['e2e_rate']['median']:.0f}/s, latency {s['latency_ms_median']['median']:.1f} ms "
            f"({elapsed:.0f} s, load {before:.2f} -> {after:.2f})",
            flush=True,
        )
    else:
        tail = log.read_text(errors="replace")[-1500:]
        record["error"] = tail
        print(f"[peers] {system.name}: FAILED rc={rc}\n{tail}", flush=True)
    return record


# --------------------------------------------------------------------------- the table


def med(record: dict[str, Any], key: str) -> float | None:
    s = record.get("result", {}).get("summary", {})
    if key == "pickup":  # created -> running, plainrun only (runs.py records it per repetition)
        values = [
            r["pickup_ms_median"] for r in record.get("result", {}).get("runs", []) if "pickup_ms_median" in r
        ]
        return statistics.median(values) if values else None
    if key == "post_p99":
        return s.get("post_latency_ms", {}).get("p99", {}).get("median")
    if key == "post_p95":
        return s.get("post_latency_ms", {}).get("p95", {}).get("median")
    return s.get(key, {}).get("median")


def fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "—"
    r = a / b
    return f"{r:.2f}" if r < 10 else f"{r:.0f}"


def table(records: list[dict[str, Any]], args: argparse.Namespace, started: str) -> str:
    lines = [
        f"Measured {started} on {platform.node()} ({os.cpu_count()} cores, shared with other work: "
        f"see the load columns), N={args.n}, {args.reps} repetitions, "
        f"{args.lat_samples} latency samples (medians over the repetitions).",
        "",
        "| system | how | enqueue/s | end-to-end/s | idle latency ms | created → running ms | "
        f"POST p95 / p99 ms under {200:g}/s | load 1 min (start → end) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in records:
        if "result" not in r:
            lines.append(
                f"| {r['name']} | {r['note']} | failed (rc {r['rc']}) | | | | | "
                f"{r['load1_start']:.2f} → {r['load1_end']:.2f} |"
            )
            continue
        lat = med(r, "latency_ms_median")
        p95, p99 = med(r, "post_p95"), med(r, "post_p99")
        post = f"{p95:.1f} / {p99:.1f}" if p95 is not None and p99 is not None else "—"
        lines.append(
            f"| {r['name']} | {r['note']} | {fmt(med(r, 'enqueue_rate'))} | {fmt(med(r, 'e2e_rate'))} | "
            f"{fmt(lat, 1 if lat is not None and lat < 100 else 0)} | {fmt(med(r, 'pickup'), 1)} | {post} | "
            f"{r['load1_start']:.2f} → {r['load1_end']:.2f} |"
        )

    lines += _against_baseline(records, args)
    mine = [r for r in records if r["kind"] == "plainrun" and "result" in r]
    many = [m for m in mine if not m["name"].endswith("1client")]
    one = [m for m in mine if m["name"].endswith("1client")]
    peers = [r for r in records if r["kind"] == "peer" and "result" in r]
    if mine and peers:

        def short(m: dict[str, Any]) -> str:
            return str(m["name"]).removeprefix("plainrun-")

        heads = [f"e2e {short(m)}" for m in mine] + [f"latency {short(m)}" for m in many]
        heads += [f"enqueue {short(m)}" for m in one]
        lines += [
            "",
            "Ratios plainrun / peer from the figures above: end-to-end runs/s (above 1: plainrun is "
            "faster), idle latency (below 1: plainrun answers sooner), enqueue/s of the one-client "
            "plainrun (the peers' way of enqueueing).",
            "",
            "| peer | " + " | ".join(heads) + " |",
            "|---|" + "---:|" * len(heads),
        ]
        for p in peers:
            cells = [ratio(med(m, "e2e_rate"), med(p, "e2e_rate")) for m in mine]
            cells += [ratio(med(m, "latency_ms_median"), med(p, "latency_ms_median")) for m in many]
            cells += [ratio(med(m, "enqueue_rate"), med(p, "enqueue_rate")) for m in one]
            lines.append(f"| {p['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _against_baseline(records: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """Each plainrun figure as a ratio to the same figure of the baseline measured just before it."""
    then = {r["name"].rsplit("@", 1)[0]: r for r in records if r["kind"] == "baseline" and "result" in r}
    now = [r for r in records if r["kind"] == "plainrun" and "result" in r and r["name"] in then]
    if not now:
        return []
    lines = [
        "",
        f"plainrun now / plainrun at {args.baseline}, each pair measured one after the other in this "
        "run: end-to-end runs/s (above 1: faster now), idle latency and created → running (below 1: "
        "sooner now).",
        "",
        "| system | e2e now / then | idle latency now / then | created → running now / then |",
        "|---|---:|---:|---:|",
    ]
    for r in now:
        b = then[r["name"]]
        cells = [ratio(med(r, k), med(b, k)) for k in ("e2e_rate", "latency_ms_median", "pickup")]
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=1000, help="runs (jobs) in each end-to-end phase")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--lat-samples", type=int, default=30)
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients of plainrun")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of POST load in runs.py (c)")
    ap.add_argument("--dbs", default="sqlite,postgres", help="plainrun's databases (comma-separated)")
    ap.add_argument("--only", default="", help="only these peers (comma-separated names)")
    ap.add_argument("--no-plainrun", action="store_true", help="run the peers only")
    ap.add_argument("--slow", action="store_true", help="also prefect-deploy (minutes for 20 runs)")
    ap.add_argument("--peers-src", type=Path, default=PEERS_SRC)
    ap.add_argument("--venvs", type=Path, default=VENVS, help="the peers' virtualenvs, one per peer")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds allowed to each system")
    ap.add_argument(
        "--prefect-n", type=int, default=50, help="N of prefect-tasks (it runs about one task a second)"
    )
    ap.add_argument(
        "--baseline",
        default="",
        help="also run plainrun at this git revision, just before this checkout's, for a ratio now/then",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "peers.json")
    args = ap.parse_args(argv)
    args.dbs = [d for d in args.dbs.split(",") if d]
    args.only = {p for p in args.only.split(",") if p}

    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="plainrun-peers-") as tmp:
        work = Path(tmp)
        (work / "results").mkdir()
        (work / "none").mkdir()
        peers = copy_peers(args.peers_src, work)
        env_for_peers = {"BENCH_N": str(args.n), "BENCH_REPS": str(args.reps)}
        env_for_peers["BENCH_LAT_SAMPLES"] = str(args.lat_samples)
        with contextlib.ExitStack() as stack:
            baseline = None
            if args.baseline and not args.no_plainrun:
                baseline = stack.enter_context(checkout(args.baseline, work / "baseline"))
            systems = [] if args.no_plainrun else plainrun_systems(args, work, baseline)
            systems += peer_systems(args, peers, args.venvs)
            records = []
            for system in systems:
                if system.kind == "peer":
                    system.env = {**env_for_peers, **system.env}
                records.append(run_system(system, work, args.timeout))
        for r in records:  # keep the logs of failures beside the results
            if "error" in r:
                r["log"] = r["log"].replace(str(work), "<scratch>")

    md = table(records, args, started)
    out = {
        "started_utc": started,
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n": args.n,
        "reps": args.reps,
        "lat_samples": args.lat_samples,
        "nproc": os.cpu_count(),
        "systems": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(md)
    print("\n" + md)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0 if all("result" in r for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
