"""Per-job overhead of the executor pool, against calling the target in-process.

    .venv/bin/python bench/executor.py [--jobs 20000] [--feeders 16] [--max-jobs-per-child 1000]

The target is ``builtins:len`` on a small dict, so the figures are the pool's own cost: framing,
the socket round trip, the child's loop and the event loop's bookkeeping. ``feeders`` coroutines
each await one run() after another, as a worker's claim loops would. The parent's RSS before and
after shows whether anything grows with the number of jobs (children are recycled meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from plainrun.engine.executor import ExecutorPool

TARGET = "builtins:len"
PAYLOAD = {"run": "r0000000000000000000000001", "step": 3, "facts": {"amount": 120, "currency": "EUR"}}


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def baseline(jobs: int) -> float:
    t0 = time.perf_counter()
    for _ in range(jobs):
        len(PAYLOAD)
    return jobs / (time.perf_counter() - t0)


async def through_pool(size: int, jobs: int, feeders: int, max_jobs_per_child: int) -> dict[str, float]:
    pool = ExecutorPool(size=size, max_jobs_per_child=max_jobs_per_child)
    await pool.start()
    try:
        for i in range(200):  # warm up: children import orjson paths, the target is cached
            await pool.run(f"w{i}", TARGET, PAYLOAD)

        n_seq = min(jobs, 5000)
        t0 = time.perf_counter()
        for i in range(n_seq):
            await pool.run(f"s{i}", TARGET, PAYLOAD)
        latency_us = (time.perf_counter() - t0) / n_seq * 1e6

        rss_before = rss_mb()
        per_feeder = jobs // feeders
        failures = 0

        async def feed(f: int) -> None:
            nonlocal failures
            for i in range(per_feeder):
                result = await pool.run(f"f{f}-{i}", TARGET, PAYLOAD)
                failures += result.kind != "ok"

        t0 = time.perf_counter()
        await asyncio.gather(*(feed(f) for f in range(feeders)))
        elapsed = time.perf_counter() - t0
        done = per_feeder * feeders
        return {
            "jobs_per_s": done / elapsed,
            "latency_us": latency_us,
            "failures": failures,
            "rss_before_mb": rss_before,
            "rss_after_mb": rss_mb(),
            "jobs": done,
        }
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--feeders", type=int, default=16)
    parser.add_argument("--max-jobs-per-child", type=int, default=1000)
    args = parser.parse_args()

    rate = baseline(max(args.jobs, 100_000))
    print(f"in-process call          {rate:12,.0f} jobs/s  ({1e6 / rate:.3f} us/job)")
    for size in (1, 2):
        r = asyncio.run(through_pool(size, args.jobs, args.feeders, args.max_jobs_per_child))
        print(
            f"pool size={size} ({args.feeders} feeders) {r['jobs_per_s']:9,.0f} jobs/s  "
            f"({1e6 / r['jobs_per_s']:.1f} us/job)  sequential round trip {r['latency_us']:.1f} us  "
            f"failures {r['failures']:.0f}  "
            f"parent RSS {r['rss_before_mb']:.1f} -> {r['rss_after_mb']:.1f} MB over {r['jobs']:.0f} jobs"
        )


if __name__ == "__main__":
    main()
