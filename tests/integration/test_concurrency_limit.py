"""The per-process concurrency limit: real worker processes never run more of a process's runs at once.

Two ``plainrun worker`` subprocesses (two runs at a time each, so four could run at once) share
the database. Every run calls a local HTTP server that holds the call for a while and counts the
calls in flight per process: that count is what the limit bounds, and it is measured where the
process code runs, not inferred from the engine's own records.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from plainrun.domain.runs import RunQuery, RunState, Stage, Trigger
from plainrun.http import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.services.runs import RunRequest
from plainrun.settings import Settings

FETCH = "to fetch the status\n  fetch json from the url\n  the output status is the above's status\n"


class _Counting(http.server.BaseHTTPRequestHandler):
    """Holds each call ``hold_s`` seconds; counts calls in flight per path, and their peak."""

    hold_s = 1.0  # long enough for calls to overlap on a busy machine too
    lock = threading.Lock()
    inflight: dict[str, int] = {}
    peak: dict[str, int] = {}
    calls: dict[str, int] = {}

    def do_GET(self) -> None:
        with self.lock:
            for key in (self.path, "all"):
                now = self.inflight[key] = self.inflight.get(key, 0) + 1
                self.peak[key] = max(self.peak.get(key, 0), now)
            self.calls[self.path] = self.calls.get(self.path, 0) + 1
        try:
            time.sleep(self.hold_s)
        finally:
            # Out of flight before the answer leaves: once the caller has it, its run may end and
            # the next one call, before this thread would run again after writing.
            with self.lock:
                self.inflight[self.path] -= 1
                self.inflight["all"] -= 1
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def counting_server() -> Iterator[str]:
    _Counting.inflight, _Counting.peak, _Counting.calls = {}, {}, {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _wait_started(worker: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Until the worker logs that it serves; its later output is drained in the background."""
    assert worker.stderr is not None
    deadline = time.monotonic() + timeout
    for line in worker.stderr:
        if b"worker started" in line:
            break
        assert time.monotonic() < deadline, "the worker did not start"
    else:
        raise AssertionError("the worker exited before it started")
    threading.Thread(target=worker.stderr.read, daemon=True).start()


def _start(services: Services, agent_id: str, process_id: str, url: str, n: int) -> list[str]:
    return [
        services.runs.start(
            SYSTEM,
            RunRequest(
                agent_id=agent_id,
                process_id=process_id,
                stage=Stage.PUBLISHED,
                name=f"run {i}",
                inputs={"url": url},
                trigger=Trigger.API,
            ),
        ).id
        for i in range(n)
    ]


@pytest.mark.slow
def test_a_limited_process_never_has_more_runs_running_than_its_limit(
    database_url: str, tmp_path: Path, counting_server: str
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, outbound_allow="127.0.0.1")
    services = build_services(settings, migrate=True)
    agent_id = services.store.agents.create("acme").id
    limited = services.processes.create(
        SYSTEM, agent_id=agent_id, source=FETCH, settings={"max_concurrency": 2}
    ).id
    free = services.processes.create(SYSTEM, agent_id=agent_id, source=FETCH, name="fetch freely").id
    for process_id in (limited, free):
        services.processes.publish(SYSTEM, process_id)
    assert services.store.processes.get(limited).max_concurrent_runs == 2  # type: ignore[union-attr]

    env = {
        **os.environ,
        "PLAINRUN_DATABASE_URL": database_url,
        "PLAINRUN_DATA_DIR": str(tmp_path),
        "PLAINRUN_OUTBOUND_ALLOW": "127.0.0.1",  # the workers build the runs' outbound rules
    }
    cmd = [str(Path(sys.executable).parent / "plainrun"), "worker", "--executors", "2", "--concurrency", "2"]
    workers = [
        subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, start_new_session=True) for _ in range(2)
    ]
    for worker in workers:  # both serve before the first run is started
        _wait_started(worker)
    # The database's own view, sampled while the runs go: Running runs of the limited process.
    running_peak = 0
    sampling = threading.Event()

    def sample() -> None:
        nonlocal running_peak
        while not sampling.is_set():
            count = len(
                services.store.runs.page(RunQuery(process_id=limited, states=(RunState.RUNNING,)), limit=100)
            )
            running_peak = max(running_peak, count)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        run_ids = _start(services, agent_id, free, f"{counting_server}/free", 6)
        run_ids += _start(services, agent_id, limited, f"{counting_server}/limited", 8)
        sampler.start()
        deadline = time.monotonic() + 90
        while True:
            runs = services.store.runs.get_many(run_ids)
            if all(r.state.is_final for r in runs.values()):
                break
            assert time.monotonic() < deadline, "runs still not finished after 90 s"
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.05)
        timeline = sorted(
            (e.at.strftime("%S.%f"), "L" if r.process_id == limited else "F", e.to_state, e.data)
            for r in runs.values()
            for e in services.store.runs.events(r.id)
            if e.kind == "state"
        )
    finally:
        sampling.set()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
            if worker.stderr is not None:
                worker.stderr.close()
        services.close()

    assert [r.state for r in runs.values()] == [RunState.SUCCEEDED] * 14
    assert _Counting.calls == {"/limited": 8, "/free": 6}
    # Four executors run up to four at once: the process without a limit used more than two of
    # them, the limited process reached its limit and no more.
    report = "\n".join(map(str, timeline))
    assert _Counting.peak["/free"] >= 3, report
    assert _Counting.peak["/limited"] == 2, report
    assert 1 <= running_peak <= 2


def test_the_limit_is_a_process_setting_of_the_api(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, key_cache_s=0)
    services = build_services(settings, migrate=True)
    agent_id = services.store.agents.create("acme").id
    _, key = services.keys.create(agent_id=agent_id, name="t")
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client:
        client.headers["x-api-key"] = key
        for bad in (0, -1, 1.5, "2", True):
            r = client.post(
                "/v2/processes",
                json={"agent_id": agent_id, "source": FETCH, "settings": {"max_concurrency": bad}},
            )
            assert r.status_code == 400, bad
            assert set(r.json()) == {"status_code", "message", "details"}
        r = client.post(
            "/v2/processes",
            json={
                "agent_id": agent_id,
                "source": FETCH,
                "name": "fetch 3",
                "settings": {"max_concurrency": 3},
            },
        )
        assert r.status_code == 201 and r.json()["settings"]["max_concurrency"] == 3
        process_id = r.json()["id"]
        assert services.store.processes.get(process_id).max_concurrent_runs == 3  # type: ignore[union-attr]
        r = client.patch(f"/v2/processes/{process_id}", json={"settings": {"max_concurrency": None}})
        assert r.status_code == 200 and r.json()["settings"]["max_concurrency"] is None
        assert services.store.processes.get(process_id).max_concurrent_runs is None  # type: ignore[union-attr]
        r = client.patch(f"/v2/processes/{process_id}", json={"settings": {"max_concurrency": 1}})
        assert r.json()["settings"]["max_concurrency"] == 1
        assert services.store.processes.get(process_id).max_concurrent_runs == 1  # type: ignore[union-attr]
    services.close()
