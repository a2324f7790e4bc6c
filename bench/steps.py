"""A 40-statement process end to end through the API, as a ratio to a 1-statement process.

Run it with:

    .venv/bin/python bench/steps.py                        # SQLite, N=1000, 8 clients, 3 reps
    .venv/bin/python bench/steps.py --db postgres --n 500 --reps 2

It starts ``plainrun serve --examples`` as ``bench/runs.py`` does (fresh data folder; on PostgreSQL a
fresh database ``bench_steps``), creates and publishes two processes through ``POST /v2/processes``
and ``POST /v2/processes/{id}/publish``:

* ``to echo a customer``: one statement (an output built from the input);
* ``to price an order``: 40 statement lines (facts, arithmetic, five conditions, a loop whose four
  statements run for each of five amounts, text interpolation, four outputs);

and then, for each repetition, measures both processes one after the other with the same client
and the same method as ``bench/runs.py``: N runs started by C concurrent clients until none is
left Pending or Running (every run then checked Succeeded, and one run of the 40-statement process
checked to have the outputs ``grand total`` 252.72 and ``level`` "silver"), then idle latency
(POST until ``GET /v2/runs/{id}`` shows Succeeded) over ``--lat-samples`` runs. The ratios 40 / 1
of end-to-end runs/s and latency come from the same repetition; the 1-minute load average is
recorded with each. Results: ``bench/results/steps-<db>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from runs import RESULTS, Bench, Client, Server, loop_factory, machine, pct, write_result

ONE_STEP = """\
to echo a customer
  the output greeting is "Hello, {the customer name}!"
"""

FORTY_STEPS = """\
# Forty statements: facts, arithmetic, conditions and a loop over a list of amounts.
to price an order
  the quantity is 12
  the unit price is 19.5
  the subtotal is the quantity * the unit price
  the discount rate is 0.05
  if the subtotal > 200 then
    set the discount rate to 0.1
  the discount is the subtotal * the discount rate
  the net is the subtotal - the discount
  the tax is the net * 0.2
  the gross is the net + the tax
  the amounts are 3, 5, 8, 13, 21
  the total is 0
  the count is 0
  the large is 0
  process each amount in the amounts as follows
    add the amount to the total
    the count is the count + 1
    if the amount > 7 then
      set the large to the large + 1
  the average is the total / the count
  the shipping is 7
  if the gross > 250 then
    set the shipping to 0
  the grand total is the gross + the shipping
  the points is the grand total / 10
  the level is "bronze"
  if the points > 20 then
    set the level to "silver"
  if the points > 50 then
    set the level to "gold"
  the label is "order of {the customer name}: {the level}"
  the checks is 0
  if the net < the subtotal then
    add 1 to the checks
  if the large is 3 then
    add 1 to the checks
  the output grand total is the grand total
  the output level is the level
  the output label is the label
  the output checks is the checks
"""
PG_DB = "bench_steps"


def statement_lines(source: str) -> int:
    return sum(
        1
        for line in source.splitlines()
        if line.strip() and not line.startswith(("#", "to ")) and not line.lstrip().startswith("#")
    )


async def publish(client: Client, agent_id: str, source: str) -> str:
    r = await client.post("/v2/processes", json={"agent_id": agent_id, "source": source})
    r.raise_for_status()
    process_id = str(r.json()["id"])
    r = await client.post(f"/v2/processes/{process_id}/publish", json={})
    r.raise_for_status()
    return process_id


async def check_outputs(client: Client, bench: Bench) -> None:
    run = await bench.post("check")
    while run["state"] in ("Pending", "Running"):
        await asyncio.sleep(0.01)
        r = await client.get(f"/v2/runs/{run['id']}")
        r.raise_for_status()
        run = r.json()
    outputs = {o["name"]: o["value"] for o in run.get("outputs") or []}
    if (
        run["status"] != "Succeeded"
        or outputs.get("level") != "silver"
        or outputs.get("grand total") != 252.72
    ):
        raise RuntimeError(f"the 40-statement run ended {run['status']} with {outputs}: {run.get('error')}")


async def run_all(args: argparse.Namespace, server: Server) -> list[dict[str, Any]]:
    demo = server.demo()
    client = Client(demo.url, demo.key)
    try:
        pids = {
            "1": await publish(client, demo.agent_id, ONE_STEP),
            "40": await publish(client, demo.agent_id, FORTY_STEPS),
        }
        benches = {k: Bench(client, dataclasses.replace(demo, process_id=p), server) for k, p in pids.items()}
        await check_outputs(client, benches["40"])
        for b in benches.values():  # warm up: compiled forms, executor children, connections
            ids = [r["id"] for r in await asyncio.gather(*(b.post("warm") for _ in range(50)))]
            await b.wait_idle()
            await b.verify(set(ids))
        reps = []
        for rep in range(1, args.reps + 1):
            record: dict[str, Any] = {"rep": rep}
            for k, b in benches.items():
                load = os.getloadavg()[0]
                e2e = await b.e2e(args.n, args.clients)
                lats = [x * 1e3 for x in await b.latency(args.lat_samples)]
                record[k] = {
                    **e2e,
                    "latency_ms_median": statistics.median(lats),
                    "latency_ms_p90": pct(lats, 90),
                    "load1": load,
                }
                print(
                    f"[steps-{server.db}] rep {rep} {k:>2} statement(s): e2e {e2e['e2e_rate']:.0f} runs/s, "
                    f"latency median {record[k]['latency_ms_median']:.1f} ms "
                    f"(p90 {record[k]['latency_ms_p90']:.1f}; load {load:.2f})",
                    flush=True,
                )
            record["e2e_ratio"] = record["40"]["e2e_rate"] / record["1"]["e2e_rate"]
            record["latency_ratio"] = record["40"]["latency_ms_median"] / record["1"]["latency_ms_median"]
            reps.append(record)
        return reps
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--n", type=int, default=1000, help="runs of each process per repetition")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lat-samples", type=int, default=30)
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="plainrun-steps-") as tmp,
        Server(args.db, Path(tmp), args.pg_admin, PG_DB) as server,
        asyncio.Runner(loop_factory=loop_factory()) as runner,
    ):
        reps = runner.run(run_all(args, server))

    def median(path: tuple[str, ...]) -> float:
        values = []
        for r in reps:
            v: Any = r
            for p in path:
                v = v[p]
            values.append(v)
        return statistics.median(values)

    result = {
        "db": args.db,
        "n": args.n,
        "clients": args.clients,
        "reps": args.reps,
        "statements": {"1": statement_lines(ONE_STEP), "40": statement_lines(FORTY_STEPS)},
        "summary": {
            "e2e_rate_1": median(("1", "e2e_rate")),
            "e2e_rate_40": median(("40", "e2e_rate")),
            "latency_ms_1": median(("1", "latency_ms_median")),
            "latency_ms_40": median(("40", "latency_ms_median")),
            "e2e_ratio_40_over_1": median(("e2e_ratio",)),
            "latency_ratio_40_over_1": median(("latency_ratio",)),
        },
        "runs": reps,
        "machine": machine(args.pg_admin, args.db),
    }
    s = result["summary"]
    print(
        f"\nplainrun-{args.db}, medians over {args.reps} reps of N={args.n} with {args.clients} clients:\n"
        f"  1 statement : {s['e2e_rate_1']:.0f} runs/s, idle latency {s['latency_ms_1']:.1f} ms\n"
        f"  40 statements: {s['e2e_rate_40']:.0f} runs/s, idle latency {s['latency_ms_40']:.1f} ms\n"
        f"  ratio 40/1: runs/s {s['e2e_ratio_40_over_1']:.2f}, latency {s['latency_ratio_40_over_1']:.2f}"
    )
    out = write_result(RESULTS / f"steps-{args.db}.json", result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
