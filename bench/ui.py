"""The team's pages at 100,000 runs: the Guidance Center, all runs of an agent, the home page.

Run it with:

    .venv/bin/python bench/ui.py                       # SQLite and PostgreSQL, 100,000 runs, 1,000 waiting
    .venv/bin/python bench/ui.py --db sqlite --runs 20000 --waiting 200 --rounds 20

For each database it makes a fresh one (a file in a scratch folder; a new PostgreSQL database
``plainrun_bench_ui_<pid>`` beside the test databases, dropped at the end), migrates it, and fills
it through the store's own table in bulk: ``--runs`` runs of one agent over 5 processes, made over
the last 30 days (ids and creation times in step, as the store makes them), 90 % Succeeded (each
ran 1 to 3 s), 5 % Failed, 1 % Cancelled, the rest Pending, and ``--waiting`` of them waiting for a
person (AwaitingGuidance, with a question). Then ``ANALYZE``.

The home page's figures of the last 30 days are counted at most every 15 s
(``services/overview.py``): it is timed both counting afresh (today's runs and the runs not ended
when their day was counted, the past days from the roll-up) and with figures counted within the
last 15 s; its first view, which counts the 29 past days into the roll-up, is timed once. It
signs in to the UI with an API key of the agent and times, interleaved round by round, the
server's answer to each page (the app called in this process through Starlette's TestClient, so
the figure is the server's time plus a few hundredths of a millisecond of the client): the
Guidance Center, the all-runs page (first page, a search by name that 11 names match, and one
that every name matches), and the home page. It
prints the query plans of the statements these pages run, to show that they read indexes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plainrun.domain import ids  # noqa: E402
from plainrun.domain.runs import NewRun, RunState, Stage, Trigger, pending_row  # noqa: E402
from plainrun.http.app import create_app  # noqa: E402
from plainrun.services.container import build_services  # noqa: E402
from plainrun.settings import Settings  # noqa: E402
from plainrun.store import schema  # noqa: E402

PG_ADMIN = os.environ.get("PLAINRUN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DAY_MS = 86_400_000


def fill(services: Any, agent_id: str, process_ids: list[str], runs: int, waiting: int) -> float:
    store = services.store
    engine: sa.Engine = store.database.engine
    now_ms = int(time.time() * 1000)
    span = 30 * DAY_MS - 60_000
    rng = random.Random(7)
    waiting_at = set(rng.sample(range(runs), waiting))
    sha = {p: store.processes.get(p).draft_sha256 for p in process_ids}
    t0 = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for i in range(runs):
            ms = now_ms - span + (span * i) // runs
            at = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
            process_id = process_ids[i % len(process_ids)]
            row = pending_row(
                NewRun(
                    id=ids._b36(ms, 9) + ids.new_id()[9:],
                    agent_id=agent_id,
                    process_id=process_id,
                    name=f"Invoice {i}",
                    stage=Stage.DRAFT,
                    version=0,
                    sha256=sha[process_id],
                    inputs=[{"name": "amount", "value": i}],
                    file_ids=[],
                    trigger=Trigger.API,
                    max_attempts=3,
                    timeout_s=300.0,
                    created_at=at,
                )
            )
            roll = rng.random()
            if i in waiting_at:
                state = RunState.AWAITING_GUIDANCE
                row["error"] = {
                    "kind": "ask",
                    "question": f"Approve invoice {i}?",
                    "message": "",
                    "line": 2,
                    "choices": ["yes", "no"],
                    "asked_at": at.isoformat(),
                }
            elif roll < 0.90:
                state = RunState.SUCCEEDED
            elif roll < 0.95:
                state = RunState.FAILED
            elif roll < 0.96:
                state = RunState.CANCELLED
            else:
                state = RunState.PENDING if i > runs - 200 else RunState.SUCCEEDED
            row["state"] = state.value
            if state is not RunState.PENDING:
                row["attempt"] = 1
                row["started_at"] = at
                if state.is_final:
                    row["finished_at"] = at + dt.timedelta(seconds=1 + 2 * rng.random())
            chunk.append(row)
            if len(chunk) == 10_000:
                conn.execute(sa.insert(schema.runs), chunk)
                chunk = []
        if chunk:
            conn.execute(sa.insert(schema.runs), chunk)
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - t0


SOURCE = 'to approve invoices {n}\n  ask "Approve invoice {{the amount}}?"\n    the choices are "yes", "no"\n'


def plans(services: Any, agent_id: str) -> list[str]:
    """The plans of the pages' heaviest statements."""
    from plainrun.domain.overview import first_id
    from plainrun.domain.runs import RunQuery
    from plainrun.store.sql import days, guidance, runs

    engine: sa.Engine = services.store.database.engine
    today = dt.datetime.now(dt.UTC).date()
    window = (today - dt.timedelta(days=29)).isoformat()
    shape, params = runs._list_params(RunQuery(agent_id=agent_id, tests=False), None)
    named, named_params = runs._list_params(
        RunQuery(agent_id=agent_id, tests=False, name="invoice 4242"), None
    )
    statements = [
        ("all runs, first page", runs._page_statement(shape), {**params, "limit": 26}),
        ("all runs, total", runs._count_statement(shape), {**params, "most": 10_001}),
        ("all runs, search by name", runs._page_statement(named), {**named_params, "limit": 26}),
        ("all runs, search by name, total", runs._count_statement(named), {**named_params, "most": 10_001}),
        (
            "Guidance Center",
            guidance._waiting_statement(True, False, False, False),
            {"agent_id": agent_id, "limit": 100},
        ),
        (
            "Guidance Center, count",
            guidance._waiting_statement(True, False, False, True),
            {"agent_id": agent_id},
        ),
        ("home, the roll-up's days", days._MARKS, {"agent_id": agent_id, "since": window}),
        (
            "home, today's runs",
            days._FACTS,
            {"agent_id": agent_id, "since": first_id(today), "until": first_id(today + dt.timedelta(days=1))},
        ),
        (
            "home, runs not ended when their day was counted",
            days._OPEN_FACTS,
            {"agent_id": agent_id, "since": window},
        ),
    ]
    out = []
    with engine.connect() as conn:
        for name, statement, values in statements:
            text = str(
                statement.params(**values).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}
                )
            )
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + text).all()
            out.append(f"{name}: " + "; ".join(str(r[-1]).strip() for r in rows))
    return out


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp(prefix="plainrun-bench-ui-")))
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("bench")
    _, key = services.keys.create(agent_id=agent.id, name="bench")
    process_ids = [
        services.store.processes.create(
            agent_id=agent.id, name=f"approve invoices {n}", source=SOURCE.format(n=n), settings={}
        ).id
        for n in range(5)
    ]
    fill_s = fill(services, agent.id, process_ids, args.runs, args.waiting)
    print(
        f"[ui] {settings.database_url.split(':')[0]}: filled {args.runs:,} runs in {fill_s:.1f} s", flush=True
    )
    app = create_app(settings, services=services)
    pages = {
        "processes list (baseline: an existing page)": f"/ui/agents/{agent.id}/processes",
        "Guidance Center": "/ui/guidance",
        "all runs, first page": f"/ui/agents/{agent.id}/runs",
        "all runs, search by name": f"/ui/agents/{agent.id}/runs?name=invoice+4242",
        "all runs, search by a name every run has": f"/ui/agents/{agent.id}/runs?name=voice",
        "home page, figures counted afresh": f"/ui/agents/{agent.id}/home",
        "home page, figures of the last 15 s": f"/ui/agents/{agent.id}/home",
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    load = [os.getloadavg()[0]]
    with TestClient(app) as client:
        sign_in = client.get("/ui/sign-in")
        token = sign_in.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = client.post("/ui/sign-in", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303, done.text
        first_view = 0.0
        for name, path in pages.items():  # warm: templates compiled, statements cached
            t0 = time.perf_counter()
            assert client.get(path).status_code == 200, name
            if "afresh" in name:  # the first view counts the past days into the roll-up
                first_view = (time.perf_counter() - t0) * 1000
        for _ in range(args.rounds):
            for name, path in pages.items():
                services.overview.fresh_s = 0.0 if "afresh" in name else 15.0
                t0 = time.perf_counter()
                response = client.get(path)
                times[name].append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
    load.append(os.getloadavg()[0])
    result = {
        "db": "postgres" if url.startswith("postgresql") else "sqlite",
        "runs": args.runs,
        "waiting": args.waiting,
        "rounds": args.rounds,
        "fill_s": fill_s,
        "first_view_ms": first_view,
        "load": load,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "figures": {
            name: {
                "p50": statistics.median(values),
                "p95": statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values),
            }
            for name, values in times.items()
        },
        "plans": plans(services, agent.id),
    }
    services.close()
    return result


def report(result: dict[str, Any]) -> None:
    print(
        f"\n**{result['db']}**, {result['runs']:,} runs, {result['waiting']:,} waiting, "
        f"{result['rounds']} rounds, "
        f"measured {result['at']}, load {result['load'][0]:.2f} → {result['load'][1]:.2f}\n"
    )
    print("| page | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, f in result["figures"].items():
        print(f"| {name} | {f['p50']:.1f} | {f['p95']:.1f} |")
    print(
        "\nThe home page's first view (29 past days counted into the roll-up): "
        f"{result['first_view_ms']:.0f} ms\n"
    )
    for line in result["plans"]:
        print(f"- {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    if args.db in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="plainrun-bench-ui-"))
        report(measure(f"sqlite:///{folder / 'plainrun.db'}", args))
    if args.db in ("postgres", "both"):
        name = f"plainrun_bench_ui_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        try:
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            report(measure(f"{base}/{name}", args))
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
