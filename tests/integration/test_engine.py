"""The run engine end to end: real workers, real executor processes, real databases."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plainrun.domain.runs import Run, RunState, Stage, Trigger
from plainrun.engine.worker import Worker, WorkerConfig
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.services.runs import RunRequest
from plainrun.settings import Settings

GREET = (
    "to greet a customer\n"
    '  say "greeting {the customer name}"\n'
    '  the output greeting is "Hello, {the customer name}!"\n'
)
# A book stuck in C code: catastrophic regex backtracking holds the interpreter for minutes.
STUCK = (
    'to test a slow pattern\n  extract "(a+)+$" from "' + "a" * 60 + '!"\n  the output found is the above\n'
)
FETCH = "to fetch the status\n  fetch json from the url\n  the output status is the above's status\n"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class EngineHarness:
    def __init__(self, services: Services):
        self.services = services
        self.agent_id = services.store.agents.create("acme").id

    def process(self, source: str, name: str | None = None, **settings: object) -> str:
        process = self.services.processes.create(
            SYSTEM, agent_id=self.agent_id, source=source, name=name, settings=settings
        )
        self.services.processes.publish(SYSTEM, process.id)
        return process.id

    def start(self, process_id: str, **inputs: object) -> str:
        return self.services.runs.start(
            SYSTEM,
            RunRequest(
                agent_id=self.agent_id,
                process_id=process_id,
                stage=Stage.PUBLISHED,
                name="test",
                inputs=inputs,
                trigger=Trigger.API,
            ),
        ).id

    def run(self, run_id: str) -> Run:
        run = self.services.store.runs.get(run_id)
        assert run is not None
        return run

    def wait_state(self, run_id: str, state: RunState, timeout: float = 30) -> Run:
        wait_for(lambda: self.run(run_id).state is state, timeout, f"{run_id} to be {state.value}")
        return self.run(run_id)


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[EngineHarness]:
    with running_engine(database_url, tmp_path, WorkerConfig(executor_size=2, concurrency=8)) as harness:
        yield harness


@contextlib.contextmanager
def running_engine(database_url: str, tmp_path: Path, config: WorkerConfig) -> Iterator[EngineHarness]:
    """Services plus a worker running in its own thread's event loop, as inside ``plainrun serve``."""
    settings = Settings(database_url=database_url, data_dir=tmp_path, outbound_allow="127.0.0.1")
    services = build_services(settings, migrate=True)
    try:
        with worker_in_thread(services, config.with_lease(5)):
            yield EngineHarness(services)
    finally:
        services.close()


@contextlib.contextmanager
def worker_in_thread(services: Services, config: WorkerConfig) -> Iterator[Worker]:
    """A worker serving ``services`` in its own thread's event loop until the block ends."""
    worker = Worker(services, config)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def serve() -> None:
        loop.run_until_complete(worker.run(stop))
        loop.run_until_complete(loop.shutdown_default_executor())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        wait_for(worker.ready.is_set, 60, "the worker to start")
        yield worker
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        loop.close()


def test_runs_execute_with_every_state_change_and_log_line_recorded(engine: EngineHarness) -> None:
    process_id = engine.process(GREET)
    run_ids = [engine.start(process_id, **{"customer name": f"c{i}"}) for i in range(20)]
    for i, run_id in enumerate(run_ids):
        run = engine.wait_state(run_id, RunState.SUCCEEDED)
        assert run.outputs == [{"name": "greeting", "value": f"Hello, c{i}!"}]
        assert run.started_at and run.finished_at and run.attempt == 1
    events = engine.services.store.runs.events(run_ids[0])
    assert [(e.kind, e.to_state) for e in events] == [
        ("created", RunState.PENDING),
        ("state", RunState.RUNNING),
        ("log", None),
        ("state", RunState.SUCCEEDED),
    ]
    assert events[2].data == {"text": "greeting c0"}


def test_stuck_code_times_out_is_stopped_and_the_worker_keeps_serving(engine: EngineHarness) -> None:
    stuck = engine.process(STUCK, timeout_s=1)
    run_id = engine.start(stuck)
    run = engine.wait_state(run_id, RunState.TIMED_OUT, timeout=20)
    assert run.error is not None and "maximum execution time of 1 s" in run.error["message"]
    assert run.state.status.value == "Stopped"
    greet = engine.process(GREET)
    ok = engine.wait_state(engine.start(greet, **{"customer name": "Ada"}), RunState.SUCCEEDED)
    assert ok.outputs == [{"name": "greeting", "value": "Hello, Ada!"}]


def test_cancel_stops_a_running_run_within_a_second(engine: EngineHarness) -> None:
    stuck = engine.process(STUCK)
    run_id = engine.start(stuck)
    engine.wait_state(run_id, RunState.RUNNING)
    time.sleep(0.3)  # the code is inside the stuck book now
    asked = time.monotonic()
    engine.services.runs.cancel(SYSTEM, run_id)
    engine.wait_state(run_id, RunState.CANCELLED, timeout=5)
    assert time.monotonic() - asked < 1.0
    pending = engine.start(stuck)  # cancelling a pending run is immediate (it may already run)
    assert engine.services.runs.cancel(SYSTEM, pending).state in (RunState.CANCELLED, RunState.RUNNING)
    engine.wait_state(pending, RunState.CANCELLED, timeout=5)


def test_a_book_error_pauses_the_run_with_its_line(engine: EngineHarness) -> None:
    process_id = engine.process(FETCH)
    run = engine.wait_state(
        engine.start(process_id, url="http://127.0.0.1:9/nothing"), RunState.AWAITING_GUIDANCE
    )
    assert run.error is not None and run.error["line"] == 2 and run.exec_state is not None
    assert run.state.status.value == "Exception"


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    hits: list[float] = []

    def do_GET(self) -> None:
        _SlowHandler.hits.append(time.monotonic())
        time.sleep(2.5)
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the killed worker's call
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.postgres
def test_a_limited_process_s_next_run_is_claimed_when_its_last_one_ends(
    database_url: str, tmp_path: Path
) -> None:
    """A worker claims when runs are announced, not for every slot that frees; the end of a run of
    a process with a concurrency limit is the one exception (nothing is announced, yet its next
    pending run may start). With the fallback poll out of reach (60 s), three runs of a process
    limited to one at a time still follow each other at once."""
    config = WorkerConfig(executor_size=1, concurrency=4, poll_s=60)
    with running_engine(database_url, tmp_path, config) as engine:
        one_at_a_time = engine.process(GREET, max_concurrency=1)
        limited = [engine.start(one_at_a_time, **{"customer name": f"l{i}"}) for i in range(3)]
        for run_id in limited:
            engine.wait_state(run_id, RunState.SUCCEEDED, timeout=45)
        free = engine.process(GREET, name="greet without a limit")
        many = [engine.start(free, **{"customer name": f"f{i}"}) for i in range(8)]
        for run_id in many:
            engine.wait_state(run_id, RunState.SUCCEEDED, timeout=45)
        runs = [engine.run(run_id) for run_id in limited]
    for before, after in itertools.pairwise(runs):
        assert before.finished_at is not None and after.started_at is not None
        assert after.started_at >= before.finished_at  # one at a time, the limit held


def test_a_killed_worker_s_run_completes_on_another_worker(pg_url: str, tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings(database_url=pg_url, data_dir=tmp_path, outbound_allow="127.0.0.1")
    services = build_services(settings, migrate=True)
    harness = EngineHarness(services)
    env = {
        **os.environ,
        "PLAINRUN_DATABASE_URL": pg_url,
        "PLAINRUN_DATA_DIR": str(tmp_path),
        "PLAINRUN_OUTBOUND_ALLOW": "127.0.0.1",
    }
    cmd = [str(Path(sys.executable).parent / "plainrun"), "worker", "--lease", "2", "--executors", "1"]
    workers = []
    try:
        first = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL, start_new_session=True)
        workers.append(first)
        run_id = harness.start(harness.process(FETCH), url=f"http://127.0.0.1:{server.server_port}/slow")
        # A new worker process imports and starts its executor first: slow on a loaded machine.
        wait_for(lambda: len(_SlowHandler.hits) == 1, 90, "the first worker to call the book")
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its executor die mid-run
        killed_at = time.monotonic()
        workers.append(subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL, start_new_session=True))
        run = harness.wait_state(run_id, RunState.SUCCEEDED, timeout=90)
        recovered_in = time.monotonic() - killed_at
        events = services.store.runs.events(run_id)
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
                w.wait(30)
        server.shutdown()
        server.server_close()
        services.close()
    assert run.outputs == [{"name": "status", "value": "ok"}] and run.attempt == 2
    lost = [e for e in events if e.kind == "attempt_lost"]
    assert len(lost) == 1 and lost[0].attempt == 1
    assert recovered_in < 90  # a lease of 2 s, then a new worker process's start-up
