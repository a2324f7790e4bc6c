"""Stop and restart PostgreSQL under load: workers, schedulers and the API recover by themselves.

``plainrun serve`` (API, worker, scheduler), a separate ``plainrun worker`` and ``plainrun scheduler``
run while clients start runs and a schedule fires every second. PostgreSQL is stopped for longer
than the ``plainrun worker``'s lease, then started again; nothing is restarted. After it: the API
answers 201 again, both workers claim again (each re-established its LISTEN connection), the
schedule fires again (the slots of the outage too, none twice), every acknowledged run succeeds,
and no run was taken from a live worker. Figures in ``test-artifacts/chaos-postgres-restart.json``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from plainrun.domain.runs import RunState
from plainrun.services.access import SYSTEM
from plainrun.store import schema as t
from tests.chaos.clients import Clients
from tests.chaos.harness import (
    Installation,
    Sink,
    check_runs_ended_once,
    cluster,
    free_port,
    pg_ctl,
    pg_up,
    postgres_kept_running,
    wait_for,
    wait_healthy,
    write_artifact,
)
from tests.conftest import PG_ADMIN

DOWN_S = 5.0
LEASE_S = 3


def listeners(database: str) -> int:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'LISTEN%%'",
            (database,),
        ).fetchone()
    return int(row[0]) if row else 0


def claimers_since(inst: Installation, since: datetime) -> set[str]:
    with inst.services.store.database.read() as tx:
        rows = tx.scalars(
            sa.select(t.run_events.c.data).where(
                t.run_events.c.kind == "state",
                t.run_events.c.to_state == RunState.RUNNING.value,
                t.run_events.c.at > since,
            )
        )
        return {d["worker"] for d in rows}


def fired_slots(inst: Installation, schedule_id: str) -> list[datetime]:
    with inst.services.store.database.read() as tx:
        return list(
            tx.scalars(
                sa.select(t.schedule_fires.c.slot_at)
                .where(t.schedule_fires.c.schedule_id == schedule_id, t.schedule_fires.c.run_id.is_not(None))
                .order_by(t.schedule_fires.c.slot_at)
            )
        )


@pytest.mark.postgres
def test_services_recover_from_a_postgres_restart_without_being_restarted(
    pg_url: str, tmp_path: Path
) -> None:
    database = sa.engine.make_url(pg_url).database
    assert database
    inst = Installation.create(pg_url, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, object] = {"down_s": DOWN_S}
    with Sink(delay=0.3) as sink, cluster(pg_url, tmp_path) as c:
        schedule = inst.services.schedules.create(
            SYSTEM,
            agent_id=inst.agent_id,
            process_id=inst.process_id,
            name="every second",
            kind="cron",
            cron="* * * * * *",
            inputs={"tag": "scheduled", "sink": sink.url},
            catch_up="all_within",  # slots missed while the database was away fire afterwards
            catch_up_window_s=60,
        )
        server = c.serve(port)
        # Its lease is shorter than the outage: it must not lose its runs to it (nor take others').
        worker = c.start("worker", "worker", "--executors", "2", "--lease", str(LEASE_S))
        scheduler = c.start("scheduler", "scheduler")
        wait_healthy(url, 60, server)
        wait_for(lambda: listeners(database) == 2, 60, "both workers to LISTEN")
        with Clients(inst, url, sink.url, n=2, pause=0.25) as clients:
            wait_for(lambda: clients.count(201) >= 20, 60, "runs to be started")
            wait_for(lambda: len(fired_slots(inst, schedule.id)) >= 2, 30, "the schedule to fire")
            with postgres_kept_running(PG_ADMIN):
                down_at = time.time()
                pg_ctl("stop")
                time.sleep(DOWN_S)
                pg_ctl("start")
                assert pg_up(PG_ADMIN)
                up_at = time.time()
            up = datetime.fromtimestamp(up_at, UTC)
            figures["outage_s"] = round(up_at - down_at, 3)
            figures["api_up_to_201_s"] = round(
                wait_for(lambda: clients.first(201, after=up_at) is not None, 60, "a 201 again"), 3
            )
            figures["up_to_listening_again_s"] = round(
                wait_for(lambda: listeners(database) == 2, 60, "both workers to LISTEN again"), 3
            )
            for proc in (server, worker):  # the worker of plainrun serve, and plainrun worker
                figures[f"up_to_{proc.name}_claims_s"] = round(
                    wait_for(
                        lambda p=proc: any(p.runs_worker(w) for w in claimers_since(inst, up)),  # type: ignore[misc]
                        60,
                        f"the worker of {proc.name} to claim again",
                    ),
                    3,
                )
            figures["up_to_schedule_fires_s"] = round(
                wait_for(lambda: fired_slots(inst, schedule.id)[-1] > up, 60, "the schedule to fire again"), 3
            )
            fired_before = scheduler.output().count("slot fired")
            wait_for(
                lambda: scheduler.output().count("slot fired") > fired_before,
                30,
                "plainrun scheduler to fire a slot again",
            )
            time.sleep(1.0)
        acked = clients.acknowledged()
        assert not clients.malformed, clients.malformed[:5]
        figures["answers_during_outage"] = sorted(
            {str(p.status) for p in clients.posted if down_at <= p.at <= up_at}
        )
        inst.services.schedules.set_enabled(SYSTEM, schedule.id, False)
        wait_for(lambda: inst.unfinished() == 0, 120, "every run to end", every=0.5)
        for proc in (server, worker, scheduler):
            assert proc.popen.poll() is None, f"{proc.name} died:\n{proc.output()[-3000:]}"
    check_runs_ended_once(inst, set(acked))
    slots = fired_slots(inst, schedule.id)
    runs = inst.runs()
    events = inst.events()
    inst.close()
    # Every worker stayed alive: none of their runs may be taken from them (and run twice) because
    # the database was away for longer than a lease.
    lost = [e for run_events in events.values() for e in run_events if e["kind"] == "attempt_lost"]
    assert not lost, f"{len(lost)} runs taken from live workers, e.g. {lost[:3]}"
    # Each slot once (a unique constraint) and none missing, those of the outage included.
    assert slots == [slots[0] + timedelta(seconds=n) for n in range(len(slots))]
    scheduled = [r for r in runs.values() if r["trigger"] == "schedule"]
    assert len(scheduled) == len(slots)
    assert all(r["state"] == RunState.SUCCEEDED.value for r in scheduled)
    figures["acknowledged_201"] = len(acked)
    figures["scheduled_runs"] = len(scheduled)
    write_artifact("postgres-restart", figures)
