"""Three hosts on one machine (network namespaces, ``tests/integration/hosts.py``) sharing nothing
but the PostgreSQL database, each with a data directory of its own:

- host a: ``plainrun serve --no-worker`` (which has a scheduler and an SMTP receiver of its own) and
  ``plainrun worker``
- host b: the same
- host c: ``plainrun scheduler`` and ``plainrun smtp``

Runs started with files on either API server (the upload target made by one server, the upload sent
to the other) and by e-mail with attachments to host c all succeed; a schedule's slots fire once
each, with three schedulers and then two; host a dies (SIGKILL of every process in it) while its
worker holds runs, and every run acknowledged before is finished by the others.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import smtplib
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.engine import make_url

from plainrun.domain.runs import Run, RunQuery, RunState
from plainrun.domain.schedules import Schedule
from plainrun.services.access import SYSTEM
from plainrun.services.container import build_services
from plainrun.settings import Settings
from tests.chaos.harness import Sink, wait_for
from tests.integration.hosts import (
    NETNS_PREFIX,
    Forwarder,
    Host,
    Network,
    ip,
    locked,
    network,
    remove_leftovers,
    require_namespaces,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BIN = str(Path(sys.executable).parent / "plainrun")
API_PORT = 8080
SMTP_PORT = 2525
LEASE_S = 5
#: The sink answers this late, so that host a dies while its runs wait for it.
SINK_DELAY_S = 1.5
#: Six plainrun processes importing and migrating at once on a loaded 2-core machine.
START_S = 180
EVERY_S = 2

READ = (
    "to read an uploaded file\n"
    "  read the text of the file\n"
    "  the output text is the above\n"
    "  post the tag as json to the sink\n"
    "  the output tag is the tag\n"
)
INTAKE = (
    "to take in an email\n"
    "  the documents are the email's attachments\n"
    "  the output count is the number of the documents\n"
    "  read the text of the first document\n"
    "  the output first is the above\n"
    "  read the text of the last document\n"
    "  the output last is the above\n"
    "  the output subject is the email's subject\n"
)
TICK = 'to tick\n  the output tick is "done"\n'


@pytest.fixture
def hosts() -> Iterator[Network]:
    require_namespaces()
    with network(("a", "b", "c")) as net:
        yield net


class Api:
    """One API server, seen from the root namespace."""

    def __init__(self, host: Host, key: str):
        self.host = host
        self.client = httpx.Client(
            base_url=f"http://{host.address}:{API_PORT}",
            headers={"x-api-key": key},
            timeout=60,
            trust_env=False,  # no proxy: the test's traffic stays on its own bridge
        )

    def ready(self) -> bool:
        try:
            return self.client.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def target(self, agent_id: str, name: str) -> dict[str, Any]:
        body = {"agent_id": agent_id, "name": name, "content_type": "text/plain"}
        r = self.client.post("/v2/files", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def upload(self, target: dict[str, Any], data: bytes) -> None:
        """The multipart POST of an upload target, sent to this server whichever made the target."""
        path = urlsplit(target["upload_url"]).path
        r = self.client.post(
            path, data=target["upload_fields"], files={"file": ("f.txt", data, "text/plain")}
        )
        assert r.status_code == 204, r.text

    def start(self, body: dict[str, Any]) -> str:
        r = self.client.post("/v2/runs", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def run(self, run_id: str) -> dict[str, Any]:
        r = self.client.get(f"/v2/runs/{run_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())


class Deployment:
    """The installation under test: its database seen from the test (loopback) and from the hosts
    (through the forwarder), its hosts and the processes started on them with their logs."""

    def __init__(self, pg_url: str, net: Network, forwarded: str, sink: Sink, tmp: Path):
        self.net, self.sink, self.tmp = net, sink, tmp
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.services = build_services(
            Settings(database_url=pg_url, data_dir=tmp / "test", min_schedule_interval_s=1), migrate=True
        )
        self.agent_id = self.services.store.agents.create("acme").id
        _, key = self.services.keys.create(agent_id=None, name="hosts")
        self.apis = [Api(net.hosts["a"], key), Api(net.hosts["b"], key)]
        self.read, self.intake = self.publish(READ), self.publish(INTAKE)
        self.address = next(
            x.address
            for x in self.services.mail.settings(SYSTEM, self.intake).addresses
            if x.stage.value == "Published"
        )
        outside = {k: v for k, v in os.environ.items() if not k.startswith("PLAINRUN_")}
        self.env = {
            **{k: v for k, v in outside.items() if "proxy" not in k.lower()},
            "PLAINRUN_DATABASE_URL": forwarded,
            "PLAINRUN_OUTBOUND_ALLOW": f"{net.gateway}/32",  # the sink, in the root namespace
            "PLAINRUN_KEY_CACHE_S": "0",
            "PLAINRUN_MIN_SCHEDULE_INTERVAL_S": "1",  # the schedule fires every few seconds
        }
        #: Every acknowledged run started through the API, and the text of its file.
        self.expected: dict[str, str] = {}

    def close(self) -> None:
        for api in self.apis:
            api.client.close()
        self.services.close()

    def publish(self, source: str) -> str:
        process = self.services.processes.create(SYSTEM, agent_id=self.agent_id, source=source)
        self.services.processes.publish(SYSTEM, process.id)
        return process.id

    # --- the hosts ----------------------------------------------------------------------------

    def start(self, host: Host, *args: str) -> None:
        env = {**self.env, "PLAINRUN_DATA_DIR": str(self.tmp / host.name / "var")}
        host.start([BIN, *args], env, self.logs / f"{host.name}-{args[0]}.log")

    def start_hosts(self) -> None:
        a, b, c = (self.net.hosts[name] for name in "abc")
        for host in (a, b):
            self.start(host, "serve", "--no-worker", "--host", host.address, "--port", str(API_PORT))
            self.start(host, "worker", "--lease", str(LEASE_S), "--executors", "1", "--concurrency", "2")
        self.start(c, "scheduler")
        self.start(c, "smtp", "--host", c.address, "--port", str(SMTP_PORT))
        self.wait(lambda: all(api.ready() for api in self.apis), START_S, "both API servers to be ready")
        self.wait(lambda: self.smtp_up(c.address), START_S, "the SMTP receiver to answer")
        logs = [self.logs / f"{host.name}-worker.log" for host in (a, b)]
        self.wait(
            lambda: all("worker started" in log.read_text() for log in logs), START_S, "both workers to start"
        )

    def output(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.iterdir()
        )

    def check_alive(self) -> None:
        """Every process started on a host still runs, unless the test ended it."""
        for host in self.net.hosts.values():
            for proc in host.procs:
                if proc.returncode is None and proc.poll() is not None:
                    raise AssertionError(f"{proc.args!r} exited {proc.returncode}:\n{self.output()}")

    def wait(self, predicate: Callable[[], object], timeout: float, what: str) -> None:
        def check() -> bool:
            self.check_alive()
            return bool(predicate())

        try:
            wait_for(check, timeout, what, every=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()}") from None

    def kill_while_holding(self, host: Host, more: Callable[[], None]) -> float:
        """SIGKILL every process of ``host`` while its worker holds a run that waits for the sink
        (one that reached it less than a second ago has half a second or more to wait); the time.
        Should every run end before that moment is seen (a slow look on a loaded machine), ``more``
        starts more."""

        def holding() -> bool:
            pids = set(host.pids())
            now = time.time()
            waiting = {tag for tag, at in list(self.sink.hits) if now - at < SINK_DELAY_S - 0.5}
            held = self.holders()
            if any(pid in pids and name in waiting for name, pid in held):
                return True
            if not held and not self.runs_of(self.read, RunState.PENDING):
                more()
            return False

        self.wait(holding, 120, f"host {host.name}'s worker to hold a run")
        host.kill()
        return time.time()

    # --- the installation ------------------------------------------------------------------------

    def start_with_file(self, made_on: Api, sent_to: Api, tag: str) -> None:
        """Upload a file (the target made on one server, the upload sent to another) and start a run
        that reads it on the first."""
        text = f"{tag}: made on {made_on.host.name}, uploaded to {sent_to.host.name}"
        target = made_on.target(self.agent_id, f"{tag}.txt")
        sent_to.upload(target, text.encode())
        body = {
            "name": tag,
            "process_id": self.read,
            "agent_id": self.agent_id,
            "stage": "Published",
            "inputs": {"tag": tag, "sink": self.sink.url},
            "file_ids": [target["file_id"]],
        }
        self.expected[made_on.start(body)] = text

    def send(self, n: int) -> None:
        """E-mail with two attachments to host c; acknowledged once ``send_message`` returns."""
        message = EmailMessage()
        message["From"], message["To"] = "ap@acme.example", self.address
        message["Subject"], message["Message-ID"] = f"invoice {n}", f"<invoice-{n}@acme.example>"
        message.set_content("two attached")
        for part in ("first", "last"):
            data = f"{part} of {n}".encode()
            message.add_attachment(data, maintype="text", subtype="plain", filename=f"{part}.txt")
        with smtplib.SMTP(self.net.hosts["c"].address, SMTP_PORT, timeout=60) as smtp:
            smtp.send_message(message)

    @staticmethod
    def smtp_up(address: str) -> bool:
        try:
            with smtplib.SMTP(address, SMTP_PORT, timeout=5) as smtp:
                return smtp.noop()[0] == 250
        except OSError:
            return False

    def runs_of(self, process_id: str, *states: RunState) -> list[Run]:
        return self.services.store.runs.page(RunQuery(process_id=process_id, states=states), limit=1000)

    def holders(self) -> list[tuple[str, int]]:
        """Each Running run's name and the pid of the worker holding it (its id is host-pid-suffix)."""
        running = self.runs_of(self.read, RunState.RUNNING)
        return [(r.name, int(r.lease_owner.split("-")[-2])) for r in running if r.lease_owner]

    def all_ended(self, mails: int) -> bool:
        runs = [*self.expected, *(r.id for r in self.runs_of(self.intake))]
        found = [self.services.store.runs.get(run_id) for run_id in runs]
        return len(runs) == len(self.expected) + mails and all(
            r is not None and r.state.is_final for r in found
        )


@contextlib.contextmanager
def deployment(pg_url: str, net: Network, tmp: Path) -> Iterator[Deployment]:
    """The forwarder to PostgreSQL and the sink on the bridge's address; every host stopped before
    they are (a failing test included)."""
    url = make_url(pg_url)
    with (
        Forwarder(net.gateway, (url.host or "127.0.0.1", url.port or 5432)) as forwarder,
        Sink(SINK_DELAY_S, host=net.gateway) as sink,
    ):
        forwarded = url.set(host=net.gateway, port=forwarder.port).render_as_string(hide_password=False)
        world = Deployment(pg_url, net, forwarded, sink, tmp)
        try:
            yield world
        finally:
            for host in net.hosts.values():
                host.stop()
            world.close()


def outputs(run: dict[str, Any]) -> dict[str, Any]:
    return {o["name"]: o["value"] for o in run["outputs"] or []}


def test_three_hosts_share_only_the_database_and_lose_nothing_when_one_dies(
    pg_url: str, hosts: Network, tmp_path: Path
) -> None:
    a, b, c = (hosts.hosts[name] for name in "abc")
    with deployment(pg_url, hosts, tmp_path) as world:
        world.start_hosts()
        schedule = world.services.schedules.create(
            SYSTEM,
            agent_id=world.agent_id,
            process_id=world.publish(TICK),
            name="tick",
            kind="cron",
            cron=f"* * * * * */{EVERY_S}",  # the sixth field is the seconds
        )
        first, second = world.apis
        # Both hosts up: runs on either server, each file's target made on one and uploaded to the other.
        before = itertools.count()

        def start_two() -> None:
            for made_on, sent_to in ((first, second), (second, first)):
                world.start_with_file(made_on, sent_to, f"before-{next(before)}")

        for _ in range(4):
            start_two()
        for n in range(2):
            world.send(n)
        killed_at = world.kill_while_holding(a, more=start_two)
        with pytest.raises(httpx.TransportError):
            first.client.get("/livez", timeout=5)
        # Host a is gone: the others go on, and finish what it acknowledged or held.
        for i in range(2):
            world.start_with_file(second, second, f"after-{i}")
        world.send(2)
        world.wait(lambda: world.all_ended(mails=3), 180, "every acknowledged run to end")

        recovered = check_file_runs(world, second)
        assert recovered, "host a died holding no run: the kill proved nothing"
        check_mail_runs(world, second, mails=3)
        check_schedule_fired_once(world, schedule, killed_at, hosts=(b, c))


def check_file_runs(world: Deployment, api: Api) -> list[str]:
    """Every run started through the API succeeded with its file's text; those host a held when it
    died (an attempt lost) are returned."""
    recovered = []
    for run_id, text in world.expected.items():
        run = api.run(run_id)
        assert run["state"] == RunState.SUCCEEDED.value, run
        assert outputs(run) == {"text": text, "tag": run["name"]}
        assert world.sink.counts()[run["name"]] >= 1
        if "attempt_lost" in [e.kind for e in world.services.store.runs.events(run_id)]:
            assert run["attempt"] >= 2
            recovered.append(run_id)
    return recovered


def check_mail_runs(world: Deployment, api: Api, mails: int) -> None:
    """Each message started one run, which read both attachments."""
    runs = [api.run(r.id) for r in world.runs_of(world.intake)]
    assert sorted(outputs(run)["subject"] for run in runs) == [f"invoice {n}" for n in range(mails)]
    for run in runs:
        n = outputs(run)["subject"].removeprefix("invoice ")
        assert run["state"] == RunState.SUCCEEDED.value, run
        assert outputs(run) == {
            "count": 2,
            "first": f"first of {n}",
            "last": f"last of {n}",
            "subject": f"invoice {n}",
        }


def check_schedule_fired_once(
    world: Deployment, schedule: Schedule, killed_at: float, hosts: tuple[Host, ...]
) -> None:
    """Every slot from the first to the last fired once (three schedulers, then two after the kill),
    and each slot's run succeeded."""
    world.services.schedules.set_enabled(SYSTEM, schedule.id, False)
    disabled = time.monotonic()
    world.wait(
        lambda: (
            time.monotonic() - disabled > 3
            and all(r.state.is_final for r in world.runs_of(schedule.process_id))
        ),
        120,
        "the scheduled runs to end",
    )
    ended = world.runs_of(schedule.process_id)
    assert all(r.state is RunState.SUCCEEDED for r in ended), [r.error for r in ended]
    for host in hosts:
        host.stop()  # no scheduler left: what is counted now is all there is
    runs = world.runs_of(schedule.process_id)
    per_slot = Counter(r.trigger_ref for r in runs)
    assert all(n == 1 for n in per_slot.values()), per_slot.most_common(3)
    fires = world.services.schedules.fires(SYSTEM, schedule.id)
    assert sorted(f.run_id or "" for f in fires) == sorted(r.id for r in runs)
    slots = sorted(f.slot_at for f in fires)
    assert len(slots) >= 3 and slots[-1].timestamp() > killed_at, slots
    steps = {later - earlier for earlier, later in itertools.pairwise(slots)}
    assert steps == {timedelta(seconds=EVERY_S)}, slots


def test_what_a_crashed_run_left_is_removed_and_nothing_else() -> None:
    require_namespaces()
    gone = subprocess.Popen(["true"])
    gone.wait()
    leftover, kept, bridge = f"{NETNS_PREFIX}{gone.pid}-a", f"{NETNS_PREFIX}kept-a", f"prb{gone.pid}"
    with locked():  # no other test process removes them first
        try:
            for name in (leftover, kept):
                ip("netns", "add", name)
            ip("link", "add", bridge, "type", "bridge")
            removed = remove_leftovers()
            assert leftover in removed and bridge in removed
            names = ip("netns", "list")
            assert leftover not in names and kept in names
            assert bridge not in ip("-o", "link", "show")
        finally:
            for name in (leftover, kept):
                with contextlib.suppress(RuntimeError):
                    ip("netns", "del", name)
            with contextlib.suppress(RuntimeError):
                ip("link", "del", bridge)
