"""What the chaos tests share: real ``plainrun`` processes, a side-effect sink, PostgreSQL control.

Every process under test is the real command in its own session (process group), so a SIGKILL of
the group takes the worker or server and its executor processes at once, like a machine dying.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa

from plainrun.domain.runs import FINAL_STATES, RunState, Stage, Trigger
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.services.runs import RunRequest
from plainrun.settings import Settings
from plainrun.store import schema as t

BIN = Path(sys.executable).parent / "plainrun"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: A run that takes a little time and leaves proof that it reached its end: its last book call posts
#: its tag to the sink (which answers slowly), and the tag comes back as an output.
PROCESS = "to record a chaos run\n  post the tag as json to the sink\n  the output tag is the tag\n"


def chaos_runs(default: int = 1000) -> int:
    """How many runs the load tests start: ``CHAOS_RUNS`` (the CI short form sets 200)."""
    return int(os.environ.get("CHAOS_RUNS", default))


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> float:
    """Wait until ``predicate()``; the seconds it took. AssertionError after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_artifact(name: str, data: dict[str, Any]) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"chaos-{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    print(f"\n[chaos] {name}: {json.dumps(data, sort_keys=True, default=str)}\n[chaos] written to {path}")
    return path


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "min": round(ordered[0], 3),
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "max": round(ordered[-1], 3),
    }


# --- the side-effect sink ----------------------------------------------------------------------


class Sink:
    """An HTTP server that records every tag posted to it (when) and answers after ``delay`` s, on
    ``host`` (loopback unless given)."""

    def __init__(self, delay: float, host: str = "127.0.0.1"):
        self.delay = delay
        self.hits: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with sink._lock:
                    sink.hits.append((json.loads(body), time.time()))
                time.sleep(sink.delay)
                reply = b'{"ok": true}'
                with contextlib.suppress(OSError):  # the caller may have been killed meanwhile
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.url = f"http://{host}:{self.server.server_port}/hit"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Sink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(tag for tag, _ in self.hits)


# --- real plainrun processes -------------------------------------------------------------------


@dataclass
class Proc:
    """One ``plainrun`` command in its own process group, its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def runs_worker(self, worker_id: str) -> bool:
        """Whether a worker id (``host-pid-suffix``) is this process's or one of its group's."""
        pid = int(worker_id.split("-")[-2])
        return pid == self.pid or pid in self.group_alive()

    def kill_group(self) -> float:
        """SIGKILL the process and every process of its group at once; the time of the kill."""
        at = time.time()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(30)
        return at

    def kill_main(self) -> float:
        """SIGKILL only the main process: its executors must notice and die by themselves."""
        at = time.time()
        self.popen.kill()
        self.popen.wait(30)
        return at

    def group_alive(self) -> list[int]:
        """Processes of this group still alive (zombies waiting for a reaper do not count)."""
        alive = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.pid and fields[0] != "Z":
                alive.append(int(entry.name))
        return alive

    def stop(self, timeout: float = 30) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
        with contextlib.suppress(ProcessLookupError):  # leftovers of a killed group
            os.killpg(self.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    """The environment the ``plainrun`` processes share, and every process started in it."""

    env: dict[str, str]
    logs: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, *args: str, **env: str) -> Proc:
        log = self.logs / f"{name}-{len(self.procs)}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                [str(BIN), *args],
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def serve(self, port: int, *args: str) -> Proc:
        return self.start(
            "serve", "serve", "--port", str(port), *args, PLAINRUN_SMTP_LISTEN_PORT=str(free_port())
        )

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


@contextlib.contextmanager
def cluster(database_url: str, tmp: Path, **env: str) -> Iterator[Cluster]:
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    base = {
        **os.environ,
        "PLAINRUN_DATABASE_URL": database_url,
        "PLAINRUN_DATA_DIR": str(tmp / "var"),
        "PLAINRUN_KEY_CACHE_S": "0",
        "PLAINRUN_OUTBOUND_ALLOW": "127.0.0.1",  # the sink the process posts to is local
        "PLAINRUN_MIN_SCHEDULE_INTERVAL_S": "1",
        **env,
    }
    c = Cluster(base, logs)
    try:
        yield c
    finally:
        c.stop_all()


def wait_healthy(url: str, timeout: float, proc: Proc | None = None) -> float:
    def up() -> bool:
        if proc is not None and proc.popen.poll() is not None:
            raise AssertionError(f"{proc.name} exited:\n{proc.output()[-3000:]}")
        try:
            return httpx.get(f"{url}/v2/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return wait_for(up, timeout, f"{url} to answer", every=0.05)


# --- the installation under test ---------------------------------------------------------------


@dataclass
class Installation:
    services: Services
    agent_id: str
    process_id: str
    api_key: str

    @classmethod
    def create(cls, database_url: str, tmp: Path, *, max_attempts: int = 10) -> Installation:
        settings = Settings(
            database_url=database_url,
            data_dir=tmp / "var",
            max_attempts=max_attempts,
            key_cache_s=0,
            outbound_allow="127.0.0.1",
            min_schedule_interval_s=1,  # the restart test's schedule fires every second
        )
        services = build_services(settings, migrate=True)
        agent_id = services.store.agents.create("chaos").id
        process = services.processes.create(SYSTEM, agent_id=agent_id, source=PROCESS)
        services.processes.publish(SYSTEM, process.id)
        _, api_key = services.keys.create(agent_id=None, name="chaos")
        return cls(services, agent_id, process.id, api_key)

    def start(self, tag: str, sink: str) -> str:
        return self.services.runs.start(
            SYSTEM,
            RunRequest(
                agent_id=self.agent_id,
                process_id=self.process_id,
                stage=Stage.PUBLISHED,
                name=tag,
                inputs={"tag": tag, "sink": sink},
                trigger=Trigger.API,
            ),
        ).id

    def body(self, tag: str, sink: str) -> dict[str, Any]:
        """The body of ``POST /v2/runs`` for one tagged run."""
        return {
            "name": tag,
            "process_id": self.process_id,
            "agent_id": self.agent_id,
            "stage": "Published",
            "inputs": {"tag": tag, "sink": sink},
        }

    def states(self) -> Counter[str]:
        with self.services.store.database.read() as tx:
            rows = tx.execute(
                sa.select(t.runs.c.state, sa.func.count())
                .where(t.runs.c.process_id == self.process_id)
                .group_by(t.runs.c.state)
            ).rows
        return Counter({state: n for state, n in rows})

    def unfinished(self) -> int:
        states = self.states()
        return sum(n for s, n in states.items() if RunState(s) not in FINAL_STATES)

    def finished(self) -> int:
        states = self.states()
        return sum(n for s, n in states.items() if RunState(s) in FINAL_STATES)

    def lease_holders(self) -> set[str]:
        """The workers holding Running runs now."""
        with self.services.store.database.read() as tx:
            return set(
                tx.scalars(
                    sa.select(t.runs.c.lease_owner)
                    .where(t.runs.c.process_id == self.process_id, t.runs.c.state == RunState.RUNNING.value)
                    .distinct()
                )
            )

    def runs(self) -> dict[str, dict[str, Any]]:
        with self.services.store.database.read() as tx:
            rows = tx.rows(sa.select(t.runs).where(t.runs.c.process_id == self.process_id))
            return {r["id"]: dict(r) for r in rows}

    def events(self) -> dict[str, list[dict[str, Any]]]:
        """Every run's state events (created, state, attempt_lost, handed_back), oldest first."""
        by_run: dict[str, list[dict[str, Any]]] = {}
        with self.services.store.database.read() as tx:
            rows = tx.rows(
                sa.select(t.run_events)
                .join(t.runs, t.runs.c.id == t.run_events.c.run_id)
                .where(t.runs.c.process_id == self.process_id, t.run_events.c.kind != "log")
                .order_by(t.run_events.c.run_id, t.run_events.c.id)
            )
            for r in rows:
                by_run.setdefault(r["run_id"], []).append(dict(r))
        return by_run

    def close(self) -> None:
        self.services.close()


def check_runs_ended_once(inst: Installation, run_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Every run in ``run_ids`` exists, Succeeded with its tag as output, with exactly one terminal
    state event (which is Succeeded). Returns the runs."""
    runs = inst.runs()
    missing = run_ids - set(runs)
    assert not missing, f"{len(missing)} acknowledged runs do not exist: {sorted(missing)[:5]}"
    events = inst.events()
    problems = []
    for run_id in run_ids:
        run = runs[run_id]
        tag = {i["name"]: i["value"] for i in run["inputs"]}["tag"]
        if run["state"] != RunState.SUCCEEDED.value:
            problems.append(f"{run_id} ended {run['state']}: {run['error']}")
            continue
        if run["outputs"] != [{"name": "tag", "value": tag}]:
            problems.append(f"{run_id} outputs {run['outputs']}")
        terminal = [
            e
            for e in events.get(run_id, [])
            if e["kind"] == "state" and RunState(e["to_state"]) in FINAL_STATES
        ]
        if [e["to_state"] for e in terminal] != [RunState.SUCCEEDED.value]:
            problems.append(f"{run_id} terminal events {[e['to_state'] for e in terminal]}")
    assert not problems, f"{len(problems)} runs wrong, e.g. {problems[:5]}"
    return runs


# --- PostgreSQL --------------------------------------------------------------------------------


def _cluster_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def pg_ctl(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster_version(), "main", action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def pg_up(admin_url: str) -> bool:
    try:
        with psycopg.connect(admin_url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


@contextlib.contextmanager
def postgres_kept_running(admin_url: str) -> Iterator[None]:
    """Whatever happens inside, PostgreSQL is running again afterwards."""
    try:
        yield
    finally:
        if not pg_up(admin_url):
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl("start")
            wait_for(lambda: pg_up(admin_url), 60, "PostgreSQL to accept connections again", every=0.2)
