"""SQLite: a power-cut style kill of ``plainrun serve`` mid-run; on restart nothing acknowledged is lost.

The whole process group of ``plainrun serve`` (API, worker, executors, scheduler) is SIGKILLed while
runs are running, others are pending and clients are mid-POST. ``serve`` starts again on the same
file; every run that got a 201 exists and finishes, and the database passes ``PRAGMA
integrity_check`` both right after the kill and at the end. Figures in
``test-artifacts/chaos-sqlite-power-cut.json``.

A SIGKILL loses what the process had not handed to the operating system; it does not lose the
operating system's own cache, as a real power cut would (see docs/reliability.md).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from plainrun.domain.runs import RunState
from tests.chaos.clients import Clients
from tests.chaos.harness import (
    Installation,
    Sink,
    check_runs_ended_once,
    cluster,
    free_port,
    wait_for,
    wait_healthy,
    write_artifact,
)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


def test_a_killed_serve_loses_no_acknowledged_run_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "var" / "plainrun.db"
    database_url = f"sqlite:///{db}"
    inst = Installation.create(database_url, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with Sink(delay=0.25) as sink, cluster(database_url, tmp_path) as c:
        server = c.serve(port)
        wait_healthy(url, 60, server)
        warm_up = inst.start("warm-up", sink.url)  # the worker is up once it has run one
        wait_for(lambda: inst.runs()[warm_up]["state"] == RunState.SUCCEEDED.value, 60, "a first run")
        with Clients(inst, url, sink.url, n=4) as clients:

            def mid_run() -> bool:
                states = inst.states()
                return (
                    clients.count(201) >= 20
                    and states[RunState.RUNNING.value] >= 2
                    and states[RunState.PENDING.value] >= 1
                )

            wait_for(mid_run, 60, "runs running and pending")
            at_kill = dict(inst.states())
            killed_at = server.kill_group()
            after_kill = integrity(db)
            server = c.serve(port)
            wait_healthy(url, 60, server)
            up_in = time.time() - killed_at
            wait_for(lambda: clients.first(201, after=killed_at) is not None, 30, "a 201 again")
            time.sleep(1.0)
        acked = clients.acknowledged()
        assert not clients.malformed, clients.malformed[:5]
        wait = wait_for(lambda: inst.unfinished() == 0, 120, "every run to end", every=0.5)
        finished_in = time.time() - killed_at
        server.stop()
        at_end = integrity(db)
    runs = check_runs_ended_once(inst, set(acked))
    events = inst.events()
    inst.close()
    recovered = [r for r in runs if any(e["kind"] == "attempt_lost" for e in events[r])]
    assert after_kill == "ok" and at_end == "ok"
    assert all(runs[run_id]["name"] == tag for run_id, tag in acked.items())
    assert recovered, "no running run was caught by the kill"
    write_artifact(
        "sqlite-power-cut",
        {
            "states_at_kill": at_kill,
            "acknowledged_201": len(acked),
            "runs_started_by_clients": len(runs) - 1,  # all but the warm-up run
            "runs_recovered": len(recovered),
            "integrity_after_kill": after_kill,
            "integrity_at_end": at_end,
            "kill_to_serving_again_s": round(up_in, 3),
            "kill_to_every_run_ended_s": round(finished_in, 3),
            "waited_for_the_last_runs_s": round(wait, 3),
        },
    )
