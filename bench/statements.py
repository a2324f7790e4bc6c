"""Where a run's database work goes on PostgreSQL: statements and transactions per run, by role.

Run it with:

    .venv/bin/python bench/statements.py                 # 40 idle runs, then 320 from 8 clients
    .venv/bin/python bench/statements.py --runs 100 --log /var/log/postgresql/postgresql-15-main.log

It starts ``plainrun serve --examples`` (``bench/runs.py``'s ``Server``) on a fresh PostgreSQL
database whose sessions log every statement (``log_statement = all``, set on that database only),
then (a) starts runs one at a time, each after the last one ended and a pause (the idle path), and
(b) starts eight times as many from 8 concurrent clients (a burst). Between markers written into
the server's log it counts the statements of each session, and names each session by what it did:
``api`` (it inserted runs), ``worker`` (it claimed or finished them); the client's polls of its runs
(``GET /v2/runs/{id}``, one autocommit ``SELECT runs…`` each, on the API's connections) are counted
apart, as ``polls``, and are not the engine's. Statements, not seconds: the counts are the
same on a quiet machine and a busy one, so they compare across commits directly.

It reads the PostgreSQL server's log file (``--log``; Debian's default path), so it runs where the
server does.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from runs import Server

LOG = Path("/var/log/postgresql/postgresql-15-main.log")
DB = "bench_plainrun_statements"
POLL = "SELECT runs.id, runs.agent_id,"  # GET /v2/runs/{id}
_LINE = re.compile(r"\[(\d+)\].*?LOG:\s+(?:statement|execute [^:]*): (.*)")


def mark(admin: str, name: str) -> None:
    with psycopg.connect(admin.rsplit("/", 1)[0] + f"/{DB}", autocommit=True) as conn:
        conn.execute(f"SELECT 'plainrun-bench-mark {name}'")


def by_session(log: Path, start: str, end: str) -> dict[str, collections.Counter[str]]:
    """Statements logged between two markers, per session (pid), each as its first three words."""
    text = log.read_text(errors="replace")
    part = text.split(f"plainrun-bench-mark {start}")[-1].split(f"plainrun-bench-mark {end}")[0]
    sessions: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in part.splitlines():
        found = _LINE.search(line)
        if found:
            pid, sql = found.groups()
            sessions[pid][" ".join(sql.split()[:3])] += 1
    return sessions


def role(statements: collections.Counter[str]) -> str:
    if any(s.startswith("INSERT INTO runs") for s in statements):
        return "api"
    if any(s.startswith(("WITH picked", "UPDATE runs SET")) for s in statements):
        return "worker"
    return "other"


def report(title: str, sessions: dict[str, collections.Counter[str]], runs: int) -> list[str]:
    roles: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for statements in sessions.values():
        name = role(statements)
        for sql, count in statements.items():
            roles["polls" if sql.startswith(POLL) else name][sql] += count
    lines = [
        f"### {title} ({runs} runs)",
        "",
        "| role | statements per run | transactions per run | most frequent |",
    ]
    lines.append("|---|---:|---:|---|")
    for name in ("api", "worker", "polls"):
        c = roles.get(name, collections.Counter())
        top = ", ".join(f"{k} {v / runs:.2f}" for k, v in c.most_common(6))
        lines.append(f"| {name} | {sum(c.values()) / runs:.2f} | {c['COMMIT'] / runs:.2f} | {top} |")
    engine = sum(sum(roles.get(n, collections.Counter()).values()) for n in ("api", "worker"))
    lines += ["", f"api + worker: **{engine / runs:.2f} statements per run**", ""]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=40, help="idle runs; the burst is 8 times as many")
    ap.add_argument("--log", type=Path, default=LOG, help="the PostgreSQL server's log file")
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        server = Server("postgres", Path(work), args.pg_admin, DB, {"log_statement": "all"})
        with server:
            demo = server.demo()
            headers = {"x-api-key": demo.key}
            body = {
                "name": "statements",
                "process_id": demo.process_id,
                "agent_id": demo.agent_id,
                "stage": "Published",
                "inputs": {"customer name": "Ann"},
            }
            with httpx.Client(base_url=demo.url, headers=headers) as client:

                def one() -> None:
                    run = client.post("/v2/runs", json=body).json()["id"]
                    while client.get(f"/v2/runs/{run}").json()["status"] != "Succeeded":
                        time.sleep(0.005)

                for _ in range(5):
                    one()  # warm: caches filled, statements prepared
                time.sleep(1.5)
                mark(args.pg_admin, "idle")
                for _ in range(args.runs):
                    one()
                    time.sleep(0.1)
                time.sleep(1)
                mark(args.pg_admin, "burst")

                async def burst(n: int) -> None:
                    async with httpx.AsyncClient(base_url=demo.url, headers=headers) as ac:
                        gate = asyncio.Semaphore(8)

                        async def post() -> None:
                            async with gate:
                                assert (await ac.post("/v2/runs", json=body)).status_code == 201

                        await asyncio.gather(*(post() for _ in range(n)))

                asyncio.run(burst(args.runs * 8))
                params = {
                    "process_id": demo.process_id,
                    "agent_id": demo.agent_id,
                    "state": "Pending",
                    "limit": 1,
                }
                while client.get("/v2/runs", params=params).json().get("runs"):
                    time.sleep(0.05)
                time.sleep(2)
                mark(args.pg_admin, "end")
    lines = [
        *report("one run at a time, idle", by_session(args.log, "idle", "burst"), args.runs),
        *report("a burst from 8 clients", by_session(args.log, "burst", "end"), args.runs * 8),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
