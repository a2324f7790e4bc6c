"""End-to-end benchmark of plainrun through its REST API, on the peers' protocol.

Run it with:

    .venv/bin/python bench/runs.py --db sqlite                      # N=2000, 8 clients, 3 reps
    .venv/bin/python bench/runs.py --db postgres --n 1000 --reps 1
    .venv/bin/python bench/runs.py --db postgres --workers 4 --api-servers 2   # scaling out

It starts its own ``plainrun serve --examples`` (the API, and the worker in its child process) on a
free port, with a fresh data folder under a temporary directory, in a new session; for ``--db postgres``
it first creates a fresh database ``bench_plainrun`` on the local server (``--pg-admin``, trust
auth) and drops it afterwards. With ``--workers N`` or ``--api-servers M`` (other than 1) the API
servers run with ``--no-worker`` (the first sets up the demo) and N ``plainrun worker`` processes
run beside them, each in a session of its own; the clients' POSTs go to the M servers in turn.
Every run is of the demo process "greet a customer" (input
``customer name``). Each repetition measures:

(a) end-to-end throughput: N runs started with ``POST /v2/runs`` by C concurrent clients
    (``--clients``, keep-alive connections of one aiohttp session). enqueue rate =
    N / (first POST until the last POST returned); e2e rate = N / (first POST until no run of the
    process is Pending, Running or AwaitingGuidance, polled every 10 ms with one
    ``GET /v2/runs?...&state=...&limit=1``). Afterwards (untimed) every run is checked to have
    Succeeded by paging ``GET /v2/runs?process_id&agent_id&limit=100``.
(b) idle latency: after 1 s idle, 50 single runs one after another, each timed from just before its
    POST until ``GET /v2/runs/{id}`` (polled every ~1 ms) shows Succeeded, with a random
    0.05-0.15 s pause between runs; median and p90. Of the same runs, the created -> running
    latency (``pickup_ms``): ``started_at`` - ``created_at`` as the server recorded them.
(c) ``POST /v2/runs`` latency under an open-loop offered load (``--rate`` 200 requests/s for
    ``--duration`` 10 s): request i is sent at start + i/rate whether or not earlier ones have
    returned, and its latency is measured from that scheduled time (so a stall of the client or the
    server is not hidden); p50/p95/p99. The runs it starts are waited for before the next phase.

Each figure is reported as min/median/max over ``--reps``, like the peers' results in
/work/shared/bench/peers/results/*.json, and written to ``bench/results/plainrun-<db>.json`` in
their shape, plus ``post_latency_ms``. The ratios printed against the peers compare with figures
measured in an earlier, separate run (same machine type, not the same moment). Differences from the
peer protocol: plainrun is started over HTTP by C concurrent clients (the peers enqueue from one
client, one call at a time), and a run is a whole process run with its recorded state changes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import itertools
import json
import os
import platform
import random
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PEERS = Path("/work/shared/bench/peers/results")
PG_DB = "bench_plainrun"
NOT_FINAL = ("Pending", "Running", "AwaitingGuidance")
# The run engine's targets: end to end, idle start latency (created -> running), POST p99 at 200/s.
TARGETS = {"e2e_rate": 800.0, "pickup_ms_median": 5.0, "post_p99_ms": 25.0}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the server under test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def psql(admin_url: str, sql: str) -> None:
    env = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    subprocess.run(["psql", admin_url, "-qAtc", sql], check=True, env=env)


@contextlib.contextmanager
def checkout(revision: str, folder: Path) -> Iterator[Path]:
    """A checkout of ``revision`` of this repository at ``folder`` (a git worktree), removed after."""
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", str(folder), revision], check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run([*git, "remove", "--force", str(folder)], check=False)


def last_line_at(root: Path, script: str, *options: str) -> str:
    """The last line a bench script prints when run with the package at ``root`` first on the path
    (a checkout of another revision, or this one)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, script, *options], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(script).name} {' '.join(options)} at {root} failed: {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def write_result(out: Path, result: dict[str, Any]) -> Path:
    """Write a benchmark's result as JSON (creating bench/results if need be); returns the path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


def proc_stats() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, the fields of /proc/PID/stat after the name) of every live process."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        yield int(entry.name), head.split("(", 1)[1], rest.split()


def session_cpu_s(sid: int) -> float:
    """CPU seconds (user + system) of every live process in session ``sid`` (the server and its
    executor children)."""
    # fields[0] is the state; fields[3] the session id; fields[11], [12] user and system ticks.
    total = sum(int(f[11]) + int(f[12]) for _, _, f in proc_stats() if int(f[3]) == sid)
    return total / CLK_TCK


def session_cpu_by_role(*sids: int) -> dict[str, float]:
    """CPU seconds of the sessions ``sids`` by role: ``api`` (a session leader ``plainrun serve``),
    ``worker`` (a ``plainrun worker``: serve's child, or a session leader of its own) and
    ``executors`` (the fork servers and their children). Each process counts with its reaped
    children (recycled executors end in their fork server's)."""
    roles = {"api": 0.0, "worker": 0.0, "executors": 0.0}
    wanted = set(sids)
    for pid, _, f in proc_stats():
        if int(f[3]) not in wanted:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as c:
                argv = c.read().split(b"\0")
        except OSError:
            continue
        role = "api" if b"serve" in argv else "worker" if b"worker" in argv else "executors"
        roles[role] += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / CLK_TCK
    return roles


def comm_cpu_s(name: str) -> float:
    """CPU seconds of every live process whose command name starts with ``name`` (e.g. postgres)."""
    total = sum(int(f[11]) + int(f[12]) for _, comm, f in proc_stats() if comm.startswith(name))
    return total / CLK_TCK


def client_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@dataclass
class Demo:
    url: str
    key: str
    agent_id: str
    process_id: str


class Server:
    """``plainrun serve --examples`` in its own session on a fresh data folder (and database).

    With ``workers`` or ``api_servers`` other than 1: ``plainrun serve --examples --no-worker``,
    ``api_servers - 1`` more ``plainrun serve --no-worker`` on ports of their own, and ``workers``
    ``plainrun worker`` processes, each in a session of its own, all on the same database."""

    def __init__(
        self,
        db: str,
        workdir: Path,
        pg_admin: str,
        pg_db: str = PG_DB,
        pg_settings: dict[str, str] | None = None,
        *,
        workers: int = 1,
        api_servers: int = 1,
    ) -> None:
        self.db, self.workdir, self.pg_admin, self.pg_db = db, workdir, pg_admin, pg_db
        #: Settings of the fresh database (``ALTER DATABASE … SET``), for its every session.
        self.pg_settings = pg_settings or {}
        self.workers, self.api_servers = workers, api_servers
        self.port = free_port()
        self.ports = [self.port]
        self.data_dir = workdir / "var"
        self.proc: subprocess.Popen[bytes] | None = None
        #: The other processes (API servers and workers), each a session leader.
        self.others: list[subprocess.Popen[bytes]] = []
        self.pg_created = False
        if db == "sqlite":
            self.database_url = f"sqlite:///{workdir / 'plainrun.db'}"
        else:
            self.database_url = f"{pg_admin.rsplit('/', 1)[0]}/{pg_db}"

    def __enter__(self) -> Server:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Server:
        if self.db == "postgres":
            psql(self.pg_admin, f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)")
            psql(self.pg_admin, f"CREATE DATABASE {self.pg_db}")
            self.pg_created = True
            for name, value in self.pg_settings.items():
                psql(self.pg_admin, f"ALTER DATABASE {self.pg_db} SET {name} = '{value}'")
        env = {
            **os.environ,
            "PLAINRUN_DATABASE_URL": self.database_url,
            "PLAINRUN_DATA_DIR": str(self.data_dir),
            "PLAINRUN_PORT": str(self.port),
            "PLAINRUN_HOST": "127.0.0.1",
            # the SMTP receiver of serve on a free port, so that a test or another serve on the
            # default port does not stop the benchmark from starting
            "PLAINRUN_SMTP_LISTEN_PORT": str(free_port()),
        }
        env.pop("PLAINRUN_PUBLIC_URL", None)
        exe = Path(sys.executable).parent / "plainrun"
        apart = self.workers != 1 or self.api_servers != 1
        self.cmd = [str(exe), "serve", "--examples", *(["--no-worker"] if apart else [])]
        self.log = open(self.workdir / "serve.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = self._popen(self.cmd, env)
        print(
            f"[bench] started pid {self.proc.pid}: {shlex.join(self.cmd)} "
            f"(port {self.port}, {self.database_url})",
            flush=True,
        )
        self._wait_healthy(self.proc, self.port)
        if apart:
            self._start_others(exe, env)
        return self

    def _popen(self, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            cmd, cwd=self.workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _start_others(self, exe: Path, env: dict[str, str]) -> None:
        """The other API servers (once the first one migrated and set up the demo) and the workers."""
        for _ in range(self.api_servers - 1):
            port = free_port()
            more = {**env, "PLAINRUN_PORT": str(port), "PLAINRUN_SMTP_LISTEN_PORT": str(free_port())}
            proc = self._popen([str(exe), "serve", "--no-worker"], more)
            self.others.append(proc)
            self._wait_healthy(proc, port)
            self.ports.append(port)
        for _ in range(self.workers):
            self.others.append(self._popen([str(exe), "worker"], env))
        print(
            f"[bench] {self.api_servers} API servers (ports {self.ports}), {self.workers} workers "
            f"(pids {[p.pid for p in self.others[self.api_servers - 1 :]]})",
            flush=True,
        )

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def _sessions(self) -> list[int]:
        return [p.pid for p in [self.proc, *self.others] if p is not None]

    def _wait_healthy(self, proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
        url = f"http://127.0.0.1:{port}/v2/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"server not healthy after {timeout} s: {self.tail()}")

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / "serve.log").read_text(errors="replace")[-2000:]
        return ""

    def demo(self) -> Demo:
        values = {}
        for line in (self.data_dir / "demo.env").read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = shlex.split(value)[0]
        return Demo(
            url=f"http://127.0.0.1:{self.port}",
            key=values["PLAINRUN_KEY"],
            agent_id=values["AGENT_ID"],
            process_id=values["PROCESS_GREET"],
        )

    def cpu_s(self) -> float:
        return sum(session_cpu_s(sid) for sid in self._sessions())

    def cpu_by_role(self) -> dict[str, float]:
        return session_cpu_by_role(*self._sessions()) if self.proc else {}

    @staticmethod
    def _end(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            pgid = proc.pid  # start_new_session: the process group is the process's pid
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                proc.wait()
            # executor children left behind in the group, if any
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

    def stop(self) -> None:
        for other in reversed(self.others):
            self._end(other)
        self.others = []
        if self.proc is not None:
            self._end(self.proc)
            print(f"[bench] stopped pid {self.proc.pid} rc={self.proc.returncode}", flush=True)
            self.log.close()
            self.proc = None
        if self.pg_created:
            psql(self.pg_admin, f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)")
            self.pg_created = False

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- the client side


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def summarize(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


@dataclass
class Reply:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:300]}")


class Client:
    """The load generator's HTTP client: aiohttp, whose cost per request (~0.4 ms of CPU here) is a
    sixth of httpx's, so that the client does not take the cores the server is measured on."""

    def __init__(self, base_url: str, key: str, connections: int = 256) -> None:
        self.session = aiohttp.ClientSession(
            base_url=base_url,
            headers={"x-api-key": key},
            # below uvicorn's 5 s keep-alive: a connection the server is closing is never reused
            connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=4),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def post(self, path: str, json: Any) -> Reply:
        async with self.session.post(path, json=json) as r:
            return Reply(r.status, await r.read())

    async def get(self, path: str, params: Any = None) -> Reply:
        async with self.session.get(path, params=params) as r:
            return Reply(r.status, await r.read())

    async def close(self) -> None:
        await self.session.close()


class Bench:
    def __init__(
        self, client: Client, demo: Demo, server: Server, posters: list[Client] | None = None
    ) -> None:
        self.client, self.demo, self.server = client, demo, server
        #: Where POSTs go, in turn (several API servers: one client each, round-robin).
        self.posters = itertools.cycle(posters or [client])
        self.seq = itertools.count()
        self.pickups: list[float] = []  # created_at -> started_at of the latency phase's runs
        #: Where each idle run's time went, by phase (ms): POST sent -> created_at, created_at ->
        #: started_at, started_at -> finished_at, finished_at -> Succeeded seen by the client (the
        #: outcome's write, its commit and the polling). Wall clocks of one machine.
        self.phases: dict[str, list[float]] = {}

    def body(self, tag: str) -> dict[str, Any]:
        i = next(self.seq)
        return {
            "name": f"{tag} {i}",
            "process_id": self.demo.process_id,
            "agent_id": self.demo.agent_id,
            "stage": "Published",
            "inputs": [{"name": "customer name", "value": f"customer {i}"}],
        }

    async def post(self, tag: str) -> dict[str, Any]:
        r = await next(self.posters).post("/v2/runs", json=self.body(tag))
        if r.status_code != 201:
            raise RuntimeError(f"POST /v2/runs -> {r.status_code}: {r.text[:500]}")
        return r.json()

    def _list_params(self, limit: int, states: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        params = [
            ("process_id", self.demo.process_id),
            ("agent_id", self.demo.agent_id),
            ("limit", str(limit)),
        ]
        return params + [("state", s) for s in states]

    async def wait_idle(self, interval: float = 0.01, timeout: float = 600.0) -> None:
        """Until no run of the process is Pending, Running or AwaitingGuidance."""
        params = self._list_params(1, NOT_FINAL)
        deadline = time.perf_counter() + timeout
        while True:
            r = await self.client.get("/v2/runs", params=params)
            r.raise_for_status()
            if not r.json()["items"]:
                return
            if time.perf_counter() > deadline:
                raise TimeoutError("runs still pending after the timeout")
            await asyncio.sleep(interval)

    async def verify(self, ids: set[str]) -> None:
        """Every run in ``ids`` Succeeded (pages newest first until all were seen)."""
        left, bad = set(ids), {}
        token = None
        while left:
            params = self._list_params(100)
            if token:
                params.append(("continuation_token", token))
            r = await self.client.get("/v2/runs", params=params)
            r.raise_for_status()
            page = r.json()
            for item in page["items"]:
                if item["id"] in left:
                    left.discard(item["id"])
                    if item["status"] != "Succeeded":
                        bad[item["id"]] = f"{item['state']}: {item.get('error')}"
            token = page["continuation_token"]
            if not token:
                break
        if left or bad:
            raise RuntimeError(
                f"{len(left)} runs not listed, {len(bad)} not Succeeded: {list(bad.items())[:3]}"
            )

    async def e2e(self, n: int, clients: int) -> dict[str, float]:
        ids: list[str] = []
        counter = itertools.count()

        async def feeder() -> None:
            while next(counter) < n:
                ids.append((await self.post("e2e"))["id"])

        cpu_c, cpu_s, cpu_pg = client_cpu_s(), self.server.cpu_s(), comm_cpu_s("postgres")
        roles = self.server.cpu_by_role()
        t0 = time.perf_counter()
        await asyncio.gather(*(feeder() for _ in range(clients)))
        t_enq = time.perf_counter()
        await self.wait_idle()
        t_done = time.perf_counter()
        cpu_c, cpu_s = client_cpu_s() - cpu_c, self.server.cpu_s() - cpu_s
        cpu_pg = comm_cpu_s("postgres") - cpu_pg
        roles = {k: v - roles.get(k, 0.0) for k, v in self.server.cpu_by_role().items()}
        await self.verify(set(ids))
        return {
            "enqueue_s": t_enq - t0,
            "e2e_s": t_done - t0,
            "enqueue_rate": n / (t_enq - t0),
            "e2e_rate": n / (t_done - t0),
            "client_cpu_s": cpu_c,
            "server_cpu_s": cpu_s,
            "server_cpu_by_role_s": roles,
            "postgres_cpu_s": cpu_pg if self.server.db == "postgres" else 0.0,
        }

    async def one_latency(self) -> float:
        wall0 = time.time()
        t0 = time.perf_counter()
        run = await self.post("latency")
        url = f"/v2/runs/{run['id']}"
        while run["status"] != "Succeeded":
            if run["state"] not in NOT_FINAL:
                raise RuntimeError(f"run {run['id']} ended {run['state']}: {run.get('error')}")
            await asyncio.sleep(0.001)
            r = await self.client.get(url)
            r.raise_for_status()
            run = r.json()
        elapsed = time.perf_counter() - t0
        seen = wall0 + elapsed
        # created -> running, by the server's own clock: how long the idle worker took to pick it up
        created, started, finished = (
            dt.datetime.fromisoformat(run[k]).timestamp() for k in ("created_at", "started_at", "finished_at")
        )
        self.pickups.append(started - created)
        marks = {"post": (wall0, created), "pickup": (created, started), "run": (started, finished)}
        for phase, (a, b) in {**marks, "seen": (finished, seen)}.items():
            self.phases.setdefault(phase, []).append((b - a) * 1e3)
        return elapsed

    async def latency(self, samples: int) -> list[float]:
        self.pickups = []
        self.phases = {}
        await asyncio.sleep(1.0)
        lats = []
        for _ in range(samples):
            lats.append(await self.one_latency())
            await asyncio.sleep(random.uniform(0.05, 0.15))
        return lats

    async def post_load(self, rate: float, duration: float) -> dict[str, Any]:
        n = int(rate * duration)
        lats: list[float] = []
        service: list[float] = []
        errors: list[str] = []
        late: list[float] = []

        async def one(at: float) -> None:
            sent = time.perf_counter()
            late.append(sent - at)
            try:
                await self.post("load")
            except Exception as e:
                errors.append(repr(e)[:200])
                return
            done = time.perf_counter()
            lats.append(done - at)
            service.append(done - sent)

        tasks = []
        start = time.perf_counter() + 0.05
        for i in range(n):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(at)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        await self.wait_idle()
        if errors:
            print(f"[bench] {len(errors)} POSTs failed under load, e.g. {errors[0]}", flush=True)
        ms = [x * 1e3 for x in lats]
        return {
            "offered_rate": rate,
            "requests": n,
            "errors": len(errors),
            "elapsed_s": elapsed,
            "p50": pct(ms, 50),
            "p95": pct(ms, 95),
            "p99": pct(ms, 99),
            "max": max(ms),
            "service_p50": pct(service, 50) * 1e3,
            "service_p99": pct(service, 99) * 1e3,
            "dispatch_late_max_ms": max(late) * 1e3,
        }


async def run_all(args: argparse.Namespace, server: Server) -> list[dict[str, Any]]:
    demo = server.demo()
    client = Client(demo.url, demo.key)
    others = [Client(url, demo.key) for url in server.urls[1:]]
    try:
        bench = Bench(client, demo, server, [client, *others])
        # warm up: connections, key cache, the executor children, the process' compiled form
        ids = [r["id"] for r in await asyncio.gather(*(bench.post("warm") for _ in range(100)))]
        await bench.wait_idle()
        await bench.verify(set(ids))
        reps = []
        for rep in range(1, args.reps + 1):
            a = await bench.e2e(args.n, args.clients)
            lats = await bench.latency(args.lat_samples)
            c = await bench.post_load(args.rate, args.duration)
            ms = [x * 1e3 for x in lats]
            r = {
                "rep": rep,
                "n": args.n,
                **a,
                "latency_ms_median": statistics.median(ms),
                "latency_ms_p90": pct(ms, 90),
                "latency_ms_min": min(ms),
                "latency_ms_max": max(ms),
                "pickup_ms_median": statistics.median(x * 1e3 for x in bench.pickups),
                "pickup_ms_p90": pct([x * 1e3 for x in bench.pickups], 90),
                "latency_phases_ms_median": {k: statistics.median(v) for k, v in bench.phases.items()},
                "post_latency_ms": c,
            }
            reps.append(r)
            by_role = ", ".join(f"{k} {v:.1f}" for k, v in a["server_cpu_by_role_s"].items())
            cpu = f"client {a['client_cpu_s']:.1f} s, server {a['server_cpu_s']:.1f} s ({by_role})"
            if server.db == "postgres":
                cpu += f", postgres {a['postgres_cpu_s']:.1f} s"
            print(
                f"[plainrun-{server.db}] rep {rep}: enqueue {a['enqueue_rate']:.0f}/s  "
                f"e2e {a['e2e_rate']:.0f}/s ({a['e2e_s']:.2f} s; CPU {cpu})  "
                f"latency median {r['latency_ms_median']:.1f} ms (p90 {r['latency_ms_p90']:.1f}, "
                f"max {r['latency_ms_max']:.1f}; created->running {r['pickup_ms_median']:.1f}; phases "
                + " ".join(f"{k} {v:.2f}" for k, v in r["latency_phases_ms_median"].items())
                + ")  "
                f"POST@{args.rate:g}/s p50 {c['p50']:.1f} "
                f"p95 {c['p95']:.1f} p99 {c['p99']:.1f} ms ({c['errors']} errors)",
                flush=True,
            )
        return reps
    finally:
        for c in [client, *others]:
            await c.close()


# --------------------------------------------------------------------------- reporting


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("plainrun", "aiohttp", "uvicorn", "fastapi", "sqlalchemy", "psycopg"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine(pg_admin: str, db: str) -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    facts: dict[str, Any] = {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    if db == "postgres":

        def q(sql: str) -> str:
            done = subprocess.run(["psql", pg_admin, "-Atc", sql], capture_output=True, text=True)
            return done.stdout.strip()

        facts["postgres"] = q("select version()")
        facts["pg_settings"] = q(
            "select string_agg(name||'='||setting, ', ' order by name) from pg_settings where name in "
            "('fsync','synchronous_commit','full_page_writes','wal_level','shared_buffers',"
            "'max_connections','commit_delay')"
        )
    return facts


def peer_figures(folder: Path) -> dict[str, dict[str, float]]:
    out = {}
    for path in sorted(folder.glob("*.json")):
        with contextlib.suppress(OSError, ValueError, KeyError):
            data = json.loads(path.read_text())
            s = data["summary"]
            out[data.get("peer", path.stem)] = {
                "enqueue_rate": s["enqueue_rate"]["median"],
                "e2e_rate": s["e2e_rate"]["median"],
                "latency_ms_median": s["latency_ms_median"]["median"],
                "date_utc": data.get("machine", {}).get("date_utc", "?"),
            }
    return out


def report(result: dict[str, Any], peers_dir: Path) -> None:
    s, name = result["summary"], result["peer"]
    rows = [
        ("enqueue rate (runs/s)", s["enqueue_rate"]),
        ("e2e rate (runs/s)", s["e2e_rate"]),
        ("idle latency median (ms)", s["latency_ms_median"]),
        ("idle latency p90 (ms)", s["latency_ms_p90"]),
        ("idle created->running (ms)", s["pickup_ms_median"]),
        *(
            (f"POST p{p[1:]} @ {result['extra']['post_rate']:g}/s (ms)", s["post_latency_ms"][p])
            for p in ("p50", "p95", "p99")
        ),
    ]
    print(f"\n{name}: n={result['n']} clients={result['extra']['clients']} reps={result['reps']}")
    print(f"{'metric':<32}{'min':>10}{'median':>10}{'max':>10}")
    for label, v in rows:
        print(f"{label:<32}{v['min']:>10.1f}{v['median']:>10.1f}{v['max']:>10.1f}")

    e2e, start, p99 = (
        s["e2e_rate"]["median"],
        s["pickup_ms_median"]["median"],
        s["post_latency_ms"]["p99"]["median"],
    )

    def verdict(ok: bool) -> str:
        return "meets" if ok else "MISSES"

    print(
        "\ntargets (medians): "
        f"e2e {e2e:.0f} runs/s {verdict(e2e >= TARGETS['e2e_rate'])} >= 800; "
        f"idle start latency {start:.1f} ms {verdict(start <= TARGETS['pickup_ms_median'])} <= 5 "
        f"(POST -> Succeeded seen {s['latency_ms_median']['median']:.1f} ms); "
        f"POST p99 {p99:.1f} ms {verdict(p99 <= TARGETS['post_p99_ms'])} <= 25"
    )

    peers = peer_figures(peers_dir)
    if not peers:
        return
    print(
        f"\nagainst the peers' medians in {peers_dir} (measured in an EARLIER run, not this one; "
        "the peers enqueue from one client one call at a time, plainrun here from "
        f"{result['extra']['clients']} HTTP clients)."
    )
    print("ratio = plainrun / peer: above 1 is better for rates, below 1 is better for latency.")
    print(
        f"{'peer':<22}{'enqueue/s':>10}{'e2e/s':>9}{'lat ms':>8}   "
        f"{'enqueue x':>9}{'e2e x':>8}{'lat x':>8}   measured"
    )
    mine = {k: s[k]["median"] for k in ("enqueue_rate", "e2e_rate", "latency_ms_median")}
    for peer, f in peers.items():
        print(
            f"{peer:<22}{f['enqueue_rate']:>10.0f}{f['e2e_rate']:>9.0f}{f['latency_ms_median']:>8.1f}   "
            f"{mine['enqueue_rate'] / f['enqueue_rate']:>9.2f}{mine['e2e_rate'] / f['e2e_rate']:>8.2f}"
            f"{mine['latency_ms_median'] / f['latency_ms_median']:>8.2f}   {f['date_utc']}"
        )


def build_result(args: argparse.Namespace, server: Server, reps: list[dict[str, Any]]) -> dict[str, Any]:
    layout = "plainrun serve --examples (API + its worker process, defaults)"
    if args.workers != 1 or args.api_servers != 1:
        layout = f"{args.api_servers} plainrun serve --no-worker and {args.workers} plainrun worker processes"
    summary = {
        k: summarize([r[k] for r in reps])
        for k in ("enqueue_rate", "e2e_rate", "latency_ms_median", "latency_ms_p90", "pickup_ms_median")
    }
    summary["post_latency_ms"] = {
        p: summarize([r["post_latency_ms"][p] for r in reps]) for p in ("p50", "p95", "p99")
    }
    return {
        "peer": f"plainrun-{args.db}",
        "n": args.n,
        "reps": args.reps,
        "lat_samples": args.lat_samples,
        "summary": summary,
        "runs": reps,
        "versions": versions(),
        "machine": machine(args.pg_admin, args.db),
        "notes": (
            f"{layout} on {args.db}; runs of the "
            f"demo 'greet a customer' process started with POST /v2/runs by {args.clients} "
            "concurrent keep-alive clients (aiohttp); e2e done when no run is "
            "Pending/Running/AwaitingGuidance (one list call polled every 10 ms), then all checked "
            "Succeeded; latency polls GET /v2/runs/{id} every ~1 ms; post_latency_ms is open-loop at "
            f"{args.rate:g} requests/s for {args.duration:g} s, measured from each request's "
            "scheduled time."
        ),
        "extra": {
            "server_cmd": shlex.join(server.cmd),
            "database_url": server.database_url,
            "clients": args.clients,
            "workers": args.workers,
            "api_servers": args.api_servers,
            "post_rate": args.rate,
            "post_duration_s": args.duration,
        },
    }


def loop_factory() -> Any:
    """uvloop's event loop for the client when it is installed (it comes with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--n", type=int, default=2000, help="runs in the end-to-end phase")
    ap.add_argument("--clients", type=int, default=8, help="concurrent POST clients in (a)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lat-samples", type=int, default=50)
    ap.add_argument("--rate", type=float, default=200.0, help="offered POSTs per second in (c)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of offered load in (c)")
    ap.add_argument(
        "--pg-admin",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a database URL on the PostgreSQL server used to create bench_plainrun",
    )
    ap.add_argument(
        "--pg-db", default=PG_DB, help="the database created (and dropped) for the run on PostgreSQL"
    )
    ap.add_argument("--peers", type=Path, default=PEERS, help="folder of the peers' result files")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes; other than 1 (or --api-servers other than 1): the API servers run "
        "with --no-worker and this many `plainrun worker` processes beside them",
    )
    ap.add_argument(
        "--api-servers", type=int, default=1, help="API servers; the clients' POSTs go to each in turn"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="result file (default bench/results/plainrun-<db>.json)"
    )
    args = ap.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="plainrun-bench-") as tmp,
        Server(
            args.db, Path(tmp), args.pg_admin, args.pg_db, workers=args.workers, api_servers=args.api_servers
        ) as server,
    ):
        try:
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                reps = runner.run(run_all(args, server))
        except BaseException:
            print(f"[bench] server log tail:\n{server.tail()}", file=sys.stderr)
            raise
        result = build_result(args, server, reps)

    out = write_result(args.out or RESULTS / f"plainrun-{args.db}.json", result)
    report(result, args.peers)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
