"""SIGKILL random workers while runs execute on PostgreSQL.

No run is lost, none is executed to completion twice, every recovered run finishes; the recovery
time (kill -> the lost runs claimed again -> finished) is printed and written to
``test-artifacts/chaos-workers.json``.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from plainrun.domain.runs import RunState
from tests.chaos.harness import (
    Installation,
    Proc,
    Sink,
    chaos_runs,
    check_runs_ended_once,
    cluster,
    summary,
    wait_for,
    write_artifact,
)

WORKERS = 3
LEASE_S = 4
WORKER_ARGS = ("worker", "--lease", str(LEASE_S), "--executors", "2", "--concurrency", "12")


@pytest.mark.postgres
def test_sigkilled_workers_lose_no_run_and_complete_none_twice(pg_url: str, tmp_path: Path) -> None:
    total = chaos_runs()
    inst = Installation.create(pg_url, tmp_path, max_attempts=10)
    rng = random.Random(total)
    kills: list[dict[str, object]] = []
    run_ids: list[str] = []
    orphans_gone: list[float] = []  # worker killed alone -> its executors gone, s
    with Sink(delay=0.1) as sink, cluster(pg_url, tmp_path) as c:
        workers: list[Proc] = [c.start("worker", *WORKER_ARGS) for _ in range(WORKERS)]

        def produce() -> None:  # runs keep arriving while workers die
            for i in range(total):
                run_ids.append(inst.start(f"t{i:05d}", sink.url))
                if i % 50 == 49:
                    time.sleep(0.2)

        producer = threading.Thread(target=produce)
        started = time.monotonic()
        producer.start()
        max_kills = max(3, total // 100)
        try:
            # Kills spread over the whole load: the k-th once k/(kills+1) of the runs have ended,
            # each of a worker (picked at random) that holds runs at that moment.
            while len(kills) < max_kills:
                goal = total * (len(kills) + 1) // (max_kills + 1)
                wait_for(lambda g=goal: inst.finished() >= g, 300, "progress", every=0.1)
                holders = inst.lease_holders()
                busy = [w for w in workers if any(w.runs_worker(h) for h in holders)]
                if not busy:
                    time.sleep(0.1)
                    continue
                victim = rng.choice(busy)
                mode = "group" if len(kills) % 2 == 0 else "main"
                at = victim.kill_group() if mode == "group" else victim.kill_main()
                workers.remove(victim)
                workers.append(c.start("worker", *WORKER_ARGS))
                kills.append({"at": at, "pid": victim.pid, "mode": mode})
                if mode == "main":  # a worker killed alone leaves no executor behind: they die with it
                    wait_for(lambda v=victim: not v.group_alive(), 10, f"{victim.pid}'s executors to die")
                    orphans_gone.append(time.time() - at)
            producer.join()
            wait_for(lambda: inst.unfinished() == 0, 120 + total / 5, "every run to end", every=0.5)
            elapsed = time.monotonic() - started
        finally:
            producer.join()
        hits = sink.counts()
        assert len(run_ids) == total

    runs = check_runs_ended_once(inst, set(run_ids))
    events = inst.events()
    inst.close()

    killed = {str(k["pid"]): k for k in kills}

    def killed_worker(worker_id: str) -> dict[str, object] | None:
        pid = worker_id.split("-")[-2]
        return killed.get(pid)

    reclaim: list[float] = []
    finish: list[float] = []
    recovered: set[str] = set()
    wrong: list[str] = []
    for run_id, run in runs.items():
        tag = run["name"]
        lost = [e for e in events[run_id] if e["kind"] == "attempt_lost"]
        for e in lost:
            kill = killed_worker(e["data"]["worker"])
            if kill is None:  # a live worker lost its lease: its copy may have run on
                wrong.append(f"{run_id}: attempt {e['attempt']} lost by live worker {e['data']['worker']}")
                continue
            recovered.add(run_id)
            claims = [ev for ev in events[run_id] if ev["kind"] == "state" and ev["to_state"] == "Running"]
            again = next(ev for ev in claims if ev["attempt"] == e["attempt"] + 1)
            reclaim.append(again["at"].timestamp() - float(kill["at"]))  # type: ignore[arg-type]
            finish.append(run["finished_at"].timestamp() - float(kill["at"]))  # type: ignore[arg-type]
        # Proof of execution: the last book call reached the sink once, plus at most once for each
        # attempt whose worker was killed (it may have posted before it died).
        if not 1 <= hits[tag] <= 1 + len(lost):
            wrong.append(f"{run_id}: reached its end {hits[tag]} times with {len(lost)} lost attempts")
        if run["attempt"] != 1 + len(lost):
            wrong.append(f"{run_id}: attempt {run['attempt']} with {len(lost)} lost attempts")
    assert not wrong, f"{len(wrong)} problems, e.g. {wrong[:5]}"
    assert recovered, "no kill caught a run in flight: the test proved nothing"
    assert all(runs[r]["state"] == RunState.SUCCEEDED.value for r in recovered)
    assert set(hits) == {r["name"] for r in runs.values()}

    write_artifact(
        "workers",
        {
            "runs": total,
            "workers": WORKERS,
            "lease_s": LEASE_S,
            "kills": [{"mode": k["mode"], "pid": k["pid"]} for k in kills],
            "runs_recovered": len(recovered),
            "executions_repeated_after_kill": sum(hits.values()) - total,
            "recovery_kill_to_reclaimed_s": summary(reclaim),
            "recovery_kill_to_finished_s": summary(finish),
            "worker_killed_alone_to_its_executors_gone_s": summary(orphans_gone),
            "wall_s": round(elapsed, 1),
        },
    )
