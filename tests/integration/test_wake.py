"""Wake-ups across processes on SQLite: a worker in another process learns of new runs and of
cancels at once, not at its next poll (2 s) or heartbeat (a third of the lease)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.services.access import SYSTEM
from plainrun.services.container import build_services
from plainrun.services.runs import RunRequest
from plainrun.settings import Settings
from plainrun.store.wake import NEW_RUNS, WakeReceiver, WakeSender, wake_folder

GREET = 'to greet a customer\n  the output greeting is "Hello, {the customer name}!"\n'
# Catastrophic backtracking: the run holds its executor until it is stopped.
SLOW = (
    'to test a slow pattern\n  extract "(a+)+$" from "' + "a" * 60 + '!"\n  the output found is the above\n'
)


def test_a_sender_reaches_every_receiver_and_drops_the_sockets_of_dead_ones(tmp_path: Path) -> None:
    database = str(tmp_path / "plainrun.db")
    first, second = WakeReceiver(database), WakeReceiver(database)
    gone = WakeReceiver(database)
    gone.sock.close()  # a killed worker leaves its socket file behind
    sender = WakeSender(database)
    try:
        sender.send(NEW_RUNS)
        assert first.read() == [NEW_RUNS] and second.read() == [NEW_RUNS]
        assert not Path(gone.path).exists()
        assert sorted(p.name for p in wake_folder(database).glob("*.sock")) == sorted(
            Path(r.path).name for r in (first, second)
        )
    finally:
        sender.close()
        for receiver in (first, second):
            receiver.close()


def test_a_worker_process_is_woken_by_new_runs_and_cancels_from_another_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plainrun.db'}"
    services = build_services(Settings(database_url=url, data_dir=tmp_path), migrate=True)
    agent_id = services.store.agents.create("acme").id
    greet, slow = (
        services.processes.create(SYSTEM, agent_id=agent_id, source=source).id for source in (GREET, SLOW)
    )
    for process_id in (greet, slow):
        services.processes.publish(SYSTEM, process_id)
    env = {**os.environ, "PLAINRUN_DATABASE_URL": url, "PLAINRUN_DATA_DIR": str(tmp_path)}
    # A long lease: the heartbeat (which also notices cancels) comes only every 10 s.
    cmd = [str(Path(sys.executable).parent / "plainrun"), "worker", "--executors", "1", "--lease", "30"]
    worker = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL, start_new_session=True)

    def start(process_id: str) -> str:
        return services.runs.start(
            SYSTEM,
            RunRequest(
                agent_id=agent_id,
                process_id=process_id,
                stage=Stage.PUBLISHED,
                name="t",
                inputs={"customer name": "Ada"},
                trigger=Trigger.API,
            ),
        ).id

    def wait(run_id: str, states: set[RunState], timeout: float) -> float:
        started = time.monotonic()
        while (run := services.store.runs.get(run_id)) is None or run.state not in states:
            assert time.monotonic() - started < timeout, f"{run_id} still {run and run.state}"
            assert worker.poll() is None, "the worker died"
            time.sleep(0.005)
        return time.monotonic() - started

    try:
        wait(start(greet), {RunState.SUCCEEDED}, 60)  # the worker is up (its executors started)
        time.sleep(2.5)  # idle past a poll: only a wake-up can make the next claim quick
        took = [wait(start(greet), {RunState.SUCCEEDED}, 10) for _ in range(5)]
        assert sorted(took)[2] < 1.0, took  # the median: far below the 2 s poll
        run_id = start(slow)
        wait(run_id, {RunState.RUNNING}, 10)
        time.sleep(0.3)
        services.runs.cancel(SYSTEM, run_id)
        assert wait(run_id, {RunState.CANCELLED}, 10) < 2.0  # far below the 10 s heartbeat
    finally:
        worker.terminate()
        worker.wait(30)
        services.close()
