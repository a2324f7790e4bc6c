"""List runs at 1,000,000 runs: GET /v2/runs for the first page and a deep page, through HTTP.

Run it with:

    .venv/bin/python bench/lists.py                          # SQLite and PostgreSQL, 1,000,000 runs
    .venv/bin/python bench/lists.py --db sqlite --runs 100000 --deep 90000

For each database it starts ``plainrun serve --examples`` (as ``bench/runs.py`` does: a fresh data
folder, a fresh PostgreSQL database ``bench_lists``), then fills the database beside the running
server, in bulk through the store's own tables (no API): ``--runs`` finished runs of the demo
process "greet a customer" and 1,000 of "check an invoice", with ids and creation times one
millisecond apart, as if made over the last hours; then ``ANALYZE``. The runs' ``created`` events
are not written (listing runs does not read them).

Through the HTTP API, with one keep-alive client:

1. it walks the big process's list from the first page, following each ``continuation_token``
   (``limit`` 100, the most the spec allows) for ``--walk`` pages (200), checking that every page
   holds exactly the next 100 runs, newest first;
2. it opens the page at ``--deep`` (900,000) with the token the server would have handed out there
   (the list's query and the previous run's id, signed with the installation's secret as the
   runs service signs it; walking 9,000 pages one by one would take minutes on a loaded machine)
   and checks that it holds runs 900,000 to 900,099;
3. then, interleaved round by round (``--samples`` rounds), it times one request of each kind:
   ``GET /v2/health``, the first page of the 1,000-run process, the first page of the big process,
   and the deep page. p50/p95/p99 of each.

The figures are ratios measured in the same run: deep / first page, the big process's first page /
the 1,000-run process's first page, and each list / the health request. The 1-minute load average
is recorded with each. Results: ``bench/results/lists-<db>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from runs import RESULTS, Client, Server, loop_factory, machine, pct, write_result

from plainrun.domain import ids
from plainrun.domain.pages import Signer
from plainrun.domain.runs import NewRun, RunState, Stage, Trigger, pending_row
from plainrun.store import Store, open_store, schema
from plainrun.store.sqlite import json_dumps

PG_DB = "bench_lists"
PAGE = 100


def load1() -> float:
    return os.getloadavg()[0]


# --------------------------------------------------------------------------- filling


def run_rows(store: Store, process_id: str, agent_id: str, count: int, start_ms: int) -> list[str]:
    """Insert ``count`` Succeeded runs of a published process, ``start_ms`` onwards, one per ms.

    The row is the store's own (``pending_row`` of a ``NewRun``, then finished as a worker finishes
    it); the values that differ from run to run are the id, the name, the input, the output and the
    times, and only those are converted per row, by the columns' own SQLAlchemy bind processing on
    SQLite and by psycopg's COPY adaptation on PostgreSQL.
    """
    process = store.processes.get(process_id)
    assert process is not None and process.published_version is not None
    version = store.processes.version(process_id, process.published_version)
    assert version is not None
    at0 = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC)
    template = pending_row(
        NewRun(
            id="",
            agent_id=agent_id,
            process_id=process_id,
            name="",
            stage=Stage.PUBLISHED,
            version=version.version,
            sha256=version.sha256,
            inputs=[],
            file_ids=[],
            trigger=Trigger.API,
            max_attempts=3,
            timeout_s=300.0,
            created_at=at0,
        )
    )
    template.update(state=RunState.SUCCEEDED.value, attempt=1)
    columns = list(schema.runs.columns)
    names = [c.name for c in columns]
    varying = ("id", "name", "inputs", "outputs", "created_at", "started_at", "finished_at")
    if store.dialect == "sqlite":
        dialect = _engine(store).dialect
        procs = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns}
    else:
        json_columns = {c.name for c in columns if isinstance(c.type, sa.JSON)}
        procs = {c.name: (json_dumps if c.name in json_columns else None) for c in columns}

    def convert(name: str, value: Any) -> Any:
        proc = procs[name]
        return value if proc is None or value is None else proc(value)

    constant = [convert(n, template[n]) for n in names]
    slots = [names.index(n) for n in varying]
    one_ms = dt.timedelta(milliseconds=1)
    three_ms = dt.timedelta(milliseconds=3)
    made: list[str] = []
    suffix = ids.new_id()[9:]
    chunk = 20_000
    for first in range(0, count, chunk):
        rows = []
        for i in range(first, min(count, first + chunk)):
            run_id = ids._b36(start_ms + i, 9) + suffix  # one run per ms: the time part is unique
            at = at0 + i * one_ms
            values = (
                run_id,
                f"bulk {i}",
                [{"name": "customer name", "value": f"customer {i}"}],
                [{"name": "greeting", "value": f"Hello, customer {i}!"}],
                at,
                at,
                at + three_ms,
            )
            row = constant.copy()
            for slot, name, value in zip(slots, varying, values, strict=True):
                row[slot] = convert(name, value)
            rows.append(row)
            made.append(run_id)
        if store.dialect == "postgresql":
            copy_rows(store, names, rows)
        else:
            insert_rows(store, names, rows)
    return made


def insert_rows(store: Store, names: list[str], rows: list[list[Any]]) -> None:
    """SQLite: one ``executemany`` on the driver connection, in one ``BEGIN IMMEDIATE``."""
    sql = f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    raw = _engine(store).raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(sql, rows)
        cur.execute("COMMIT")
    finally:
        raw.close()


def copy_rows(store: Store, names: list[str], rows: list[list[Any]]) -> None:
    """PostgreSQL: COPY, the bulk path of the database itself."""
    raw = _engine(store).raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY runs ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _engine(store: Store) -> sa.Engine:
    """The store database's SQLAlchemy engine (the bulk fill writes around the store's operations)."""
    engine: sa.Engine = store.database.engine  # type: ignore[attr-defined]
    return engine


def fill(database_url: str, agent_id: str, big: str, small: str, count: int) -> dict[str, Any]:
    store = open_store(database_url)
    try:
        now_ms = int(time.time() * 1000)
        t0 = time.perf_counter()
        small_ids = run_rows(store, small, agent_id, 1000, now_ms - 1000 - count)
        big_ids = run_rows(store, big, agent_id, count, now_ms - count)
        t_insert = time.perf_counter() - t0
        with _engine(store).connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
        t_total = time.perf_counter() - t0
    finally:
        store.dispose()
    print(
        f"[lists] inserted {count + 1000:,} runs in {t_insert:.1f} s "
        f"({(count + 1000) / t_insert:,.0f} rows/s), with ANALYZE {t_total:.1f} s",
        flush=True,
    )
    big_ids.reverse()  # newest first, the list's order
    return {"insert_s": t_insert, "fill_s": t_total, "big_ids": big_ids, "small_ids": small_ids}


# --------------------------------------------------------------------------- measuring


async def walk(
    client: Client, params: list[tuple[str, str]], expected: list[str], pages: int
) -> dict[str, Any]:
    """Follow continuation tokens from the first page for ``pages`` pages, checking each page."""
    token: str | None = None
    position = 0
    lats: list[float] = []
    for _ in range(pages):
        query = params + ([("continuation_token", token)] if token else [])
        t0 = time.perf_counter()
        r = await client.get("/v2/runs", params=query)
        lats.append(time.perf_counter() - t0)
        r.raise_for_status()
        body = r.json()
        got = [item["id"] for item in body["items"]]
        if got != expected[position : position + PAGE]:
            raise RuntimeError(f"page at {position} is not the next {PAGE} runs newest first")
        position += len(got)
        token = body["continuation_token"]
        if token is None:
            raise RuntimeError(f"no continuation token at {position}")
    ms = [x * 1e3 for x in lats]
    return {
        "position": position,
        "pages": len(lats),
        "seconds": sum(lats),
        "first_10_pages_p50_ms": pct(ms[:10], 50),
        "last_10_pages_p50_ms": pct(ms[-10:], 50),
        "all_pages_p95_ms": pct(ms, 95),
    }


def deep_token(database_url: str, process_id: str, agent_id: str, after_id: str) -> str:
    """The continuation token the server would hand out after ``after_id``: the list's query signed
    with the installation's secret (as ``RunService.page`` does), so the walk to 900,000 need not be
    made page by page. The page it opens is checked against the expected runs."""
    store = open_store(database_url)
    try:
        secret = store.installation.secret()
    finally:
        store.dispose()
    query = {"p": process_id, "a": agent_id, "s": None, "ar": False, "st": []}
    return Signer(secret, "runs-page").sign({**query, "k": after_id})


async def sample(
    client: Client, kinds: dict[str, tuple[str, list[tuple[str, str]]]], rounds: int
) -> dict[str, dict[str, float]]:
    lats: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(rounds):
        for kind, (path, params) in kinds.items():
            t0 = time.perf_counter()
            r = await client.get(path, params=params)
            lats[kind].append(time.perf_counter() - t0)
            r.raise_for_status()
    out = {}
    for kind, xs in lats.items():
        ms = [x * 1e3 for x in xs]
        out[kind] = {"p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99), "max": max(ms)}
    return out


async def measure(
    server: Server, small_process: str, filled: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    demo = server.demo()
    client = Client(demo.url, demo.key)
    try:
        base = [("agent_id", demo.agent_id), ("limit", str(PAGE))]
        big = [("process_id", demo.process_id), *base]
        small = [("process_id", small_process), *base]
        load_walk = load1()
        walked = await walk(client, big, filled["big_ids"], args.walk)
        print(
            f"[lists] walked {walked['pages']} pages to {walked['position']:,} in "
            f"{walked['seconds']:.1f} s (first 10 pages p50 {walked['first_10_pages_p50_ms']:.1f} ms, "
            f"last 10 p50 {walked['last_10_pages_p50_ms']:.1f} ms)",
            flush=True,
        )
        expected = filled["big_ids"]
        token = deep_token(server.database_url, demo.process_id, demo.agent_id, expected[args.deep - 1])
        deep = [*big, ("continuation_token", token)]
        r = await client.get("/v2/runs", params=deep)
        r.raise_for_status()
        if [item["id"] for item in r.json()["items"]] != expected[args.deep : args.deep + PAGE]:
            raise RuntimeError(f"the page at {args.deep} is not the runs {args.deep}..{args.deep + PAGE - 1}")
        kinds = {
            "health": ("/v2/health", []),
            "list_1k_first": ("/v2/runs", small),
            "list_big_first": ("/v2/runs", big),
            "list_big_deep": ("/v2/runs", deep),
        }
        await sample(client, kinds, 20)  # warm up
        load_start = load1()
        figures = await sample(client, kinds, args.samples)
        load_end = load1()
    finally:
        await client.close()
    return {"walk": {**walked, "load1": load_walk}, "latency_ms": figures, "load1": [load_start, load_end]}


def ratios(f: dict[str, dict[str, float]]) -> dict[str, float]:
    out = {}
    for p in ("p50", "p95"):
        out[f"deep_over_first_{p}"] = f["list_big_deep"][p] / f["list_big_first"][p]
        out[f"big_first_over_1k_first_{p}"] = f["list_big_first"][p] / f["list_1k_first"][p]
        out[f"big_first_over_health_{p}"] = f["list_big_first"][p] / f["health"][p]
        out[f"big_deep_over_health_{p}"] = f["list_big_deep"][p] / f["health"][p]
    return out


def one_db(db: str, args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="plainrun-lists-") as tmp,
        Server(db, Path(tmp), args.pg_admin, PG_DB) as server,
    ):
        demo = server.demo()
        values = {}
        for line in (server.data_dir / "demo.env").read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = shlex.split(value)[0]
        small = values["PROCESS_CHECK"]
        load_fill = load1()
        filled = fill(server.database_url, demo.agent_id, demo.process_id, small, args.runs)
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            measured = runner.run(measure(server, small, filled, args))
    result = {
        "db": db,
        "runs": args.runs,
        "deep_position": args.deep,
        "page": PAGE,
        "samples": args.samples,
        "fill": {"insert_s": filled["insert_s"], "fill_s": filled["fill_s"], "load1": load_fill},
        **measured,
        "ratios": ratios(measured["latency_ms"]),
        "machine": machine(args.pg_admin, db),
    }
    return result


def report(result: dict[str, Any]) -> None:
    f, r = result["latency_ms"], result["ratios"]
    print(
        f"\nplainrun-{result['db']}: GET /v2/runs with {result['runs']:,} runs, limit {PAGE}, "
        f"{result['samples']} samples each, interleaved (load {result['load1'][0]:.2f} -> "
        f"{result['load1'][1]:.2f})"
    )
    print(f"{'request':<40}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    labels = {
        "health": "GET /v2/health",
        "list_1k_first": "first page, process with 1,000 runs",
        "list_big_first": f"first page, process with {result['runs']:,} runs",
        "list_big_deep": f"page at {result['deep_position']:,}",
    }
    for k, label in labels.items():
        print(f"{label:<40}{f[k]['p50']:>9.2f}{f[k]['p95']:>9.2f}{f[k]['p99']:>9.2f}")
    print(
        f"ratios: deep / first p50 {r['deep_over_first_p50']:.2f}, p95 {r['deep_over_first_p95']:.2f}; "
        f"first page {result['runs']:,} / 1,000 runs p95 {r['big_first_over_1k_first_p95']:.2f}; "
        f"first page / health p95 {r['big_first_over_health_p95']:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--runs", type=int, default=1_000_000, help="runs of the big process")
    ap.add_argument("--deep", type=int, default=900_000, help="position of the deep page")
    ap.add_argument("--walk", type=int, default=200, help="pages followed by token from the first")
    ap.add_argument("--samples", type=int, default=300, help="timed requests of each kind")
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args(argv)
    if not 0 < args.deep < args.runs - PAGE or args.walk * PAGE >= args.runs:
        ap.error("--deep and --walk must stay within --runs")
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        result = one_db(db, args)
        report(result)
        out = write_result(RESULTS / f"lists-{db}.json", result)
        print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
