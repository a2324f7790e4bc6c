"""Schedules: each slot fired once by many schedulers, catch-up policies, daylight saving, the API."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from plainrun.domain.runs import RunQuery, Trigger
from plainrun.domain.schedules import Fire, slot_ref
from plainrun.http.app import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings
from plainrun.store import schema as t
from plainrun.triggers.scheduler import Scheduler, SchedulerThread, running

SOURCE = 'to tick\n  say "tick"\n'
T0 = datetime(2024, 6, 4, 8, 0, 0, 500_000, tzinfo=UTC)


class FakeClock:
    """Time that starts at ``start`` and runs ``speed`` times faster than the real clock."""

    def __init__(self, start: datetime, speed: float):
        self.start, self.speed, self.real = start, speed, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.real) * self.speed)

    def wait_until(self, at: datetime) -> None:
        while self() < at:
            time.sleep(0.002)


class FixedClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    settings: Settings
    services: Services
    agent_id: str
    process_id: str

    def fires(self, schedule_id: str) -> list[Fire]:
        with self.services.store.database.read() as tx:
            rows = tx.rows(
                sa.select(t.schedule_fires)
                .where(t.schedule_fires.c.schedule_id == schedule_id)
                .order_by(t.schedule_fires.c.slot_at)
            )
            return [Fire(**r) for r in rows]


def _env(database_url: str, tmp_path: Path, source: str = SOURCE) -> Iterator[Env]:
    # Slots seconds apart, so that a real clock drives them quickly.
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, key_cache_s=0, min_schedule_interval_s=1
    )
    services = build_services(settings, migrate=True)
    try:
        agent = services.store.agents.create("acme")
        process = services.processes.create(SYSTEM, agent_id=agent.id, source=source)
        services.processes.publish(SYSTEM, process.id)
        yield Env(settings, services, agent.id, process.id)
    finally:
        services.close()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    yield from _env(database_url, tmp_path)


@pytest.fixture
def pg_env(pg_url: str, tmp_path: Path) -> Iterator[Env]:
    yield from _env(pg_url, tmp_path)


# --- the done criterion ------------------------------------------------------------------------


@pytest.mark.postgres
def test_three_schedulers_fire_hundreds_of_slots_each_once_with_restarts(pg_env: Env) -> None:
    """Three schedulers, each with its own connections, on a clock 6000 times too fast (an every-minute
    schedule fires 100 slots a second). One is stopped and restarted in the middle; then all stop for
    40 minutes of schedule time and three new ones catch up. Each slot fires exactly once."""
    minute = timedelta(minutes=1)
    pg_env.services.schedules.clock = FixedClock(T0)
    schedule = pg_env.services.schedules.create(
        SYSTEM,
        agent_id=pg_env.agent_id,
        process_id=pg_env.process_id,
        name="every minute",
        kind="every",
        every_minutes=1,
        catch_up="all_within",
        catch_up_window_s=24 * 3600,
    )
    end = T0 + timedelta(minutes=360)
    clock = FakeClock(T0, speed=6000)
    built: list[Services] = []
    schedulers: list[Scheduler] = []

    def start() -> SchedulerThread:
        services = build_services(pg_env.settings)  # its own store and connections
        built.append(services)
        scheduler = Scheduler(services.schedules, clock=lambda: min(clock(), end), max_sleep=0.005)
        schedulers.append(scheduler)
        return SchedulerThread(scheduler).start()

    try:
        threads = [start(), start(), start()]
        clock.wait_until(T0 + 100 * minute)
        threads[0].stop()  # a restart in the middle
        clock.wait_until(T0 + 150 * minute)
        threads[0] = start()
        clock.wait_until(T0 + 200 * minute)
        for thread in threads:  # every scheduler down: 40 slots are missed
            thread.stop()
        clock.wait_until(T0 + 240 * minute)
        threads = [start(), start(), start()]
        clock.wait_until(end)
        deadline = time.monotonic() + 20
        while pg_env.services.schedules.get(SYSTEM, schedule.id).next_at <= end:  # type: ignore[operator]
            assert time.monotonic() < deadline, "the schedulers did not catch up"
            time.sleep(0.01)
        for thread in threads:
            thread.stop()
    finally:
        for services in built:
            services.close()

    expected = [T0.replace(microsecond=0) + n * minute for n in range(1, 361)]
    fires = pg_env.fires(schedule.id)
    assert [f.slot_at for f in fires] == expected  # none twice (unique anyway), none missing
    assert all(f.run_id and f.error is None for f in fires)
    runs = pg_env.services.store.runs.page(RunQuery(process_id=pg_env.process_id), limit=1000)
    assert len(runs) == len(expected)
    assert {r.trigger_ref for r in runs} == {slot_ref(schedule.id, s) for s in expected}
    assert {r.id for r in runs} == {f.run_id for f in fires}
    assert {r.trigger for r in runs} == {Trigger.SCHEDULE}
    assert sum(s.fired for s in schedulers) == len(expected)
    assert sum(1 for s in schedulers if s.fired) >= 2  # the slots were shared out, not fired by one


# --- firing on time ------------------------------------------------------------------------------


def test_a_slot_fires_within_a_second_of_its_time(env: Env) -> None:
    """A real clock and a cron with seconds: every two seconds."""
    schedule = env.services.schedules.create(
        SYSTEM,
        agent_id=env.agent_id,
        process_id=env.process_id,
        name="every two seconds",
        kind="cron",
        cron="* * * * * */2",
    )
    with running(Scheduler(env.services.schedules)):
        deadline = time.monotonic() + 10
        while len(env.fires(schedule.id)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    fires = env.fires(schedule.id)
    runs = {r.id: r for r in env.services.store.runs.page(RunQuery(process_id=env.process_id), limit=100)}
    for fire in fires:
        late = runs[fire.run_id].created_at - fire.slot_at  # type: ignore[index]
        assert timedelta(0) <= late < timedelta(seconds=1), late


def test_a_new_schedule_wakes_an_in_process_scheduler(env: Env) -> None:
    clock = FixedClock(T0)
    env.services.schedules.clock = clock
    scheduler = Scheduler(env.services.schedules, clock=clock, max_sleep=30)
    with running(scheduler):
        time.sleep(0.1)  # asleep for 30 s: nothing is scheduled
        clock.now = T0 + timedelta(minutes=10)
        schedule = env.services.schedules.create(
            SYSTEM, agent_id=env.agent_id, process_id=env.process_id, name="n", kind="every", every_minutes=1
        )
        clock.now += timedelta(minutes=1)
        env.services.schedules.update(SYSTEM, schedule.id, name="renamed")  # a change wakes it
        deadline = time.monotonic() + 5
        while not env.fires(schedule.id):
            assert time.monotonic() < deadline
            time.sleep(0.01)


# --- catch-up -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "window_s", "fired_minutes"),
    [("skip", None, []), ("latest", None, [60]), ("all_within", 1800, [40, 50, 60])],
)
def test_catch_up_after_downtime_follows_the_policy(
    env: Env, policy: str, window_s: int | None, fired_minutes: list[int]
) -> None:
    clock = FixedClock(T0)
    service = env.services.schedules
    service.clock = clock
    schedule = service.create(
        SYSTEM,
        agent_id=env.agent_id,
        process_id=env.process_id,
        name="every ten minutes",
        kind="every",
        every_minutes=10,
        catch_up=policy,
        catch_up_window_s=window_s,
    )
    start = T0.replace(microsecond=0)
    assert schedule.next_at == start + timedelta(minutes=10)
    # Down from T0 to T0+65 min: the slots at 10 … 60 were missed (60 is 5 minutes old).
    fired = service.fire_due(start + timedelta(minutes=65))
    assert [f.slot_at for f in fired] == [start + timedelta(minutes=m) for m in fired_minutes]
    assert service.get(SYSTEM, schedule.id).next_at == start + timedelta(minutes=70)
    assert service.fire_due(start + timedelta(minutes=66)) == []  # dealt with: nothing fires twice
    # Back on time: the slot at 70 fires whatever the policy.
    on_time = service.fire_due(start + timedelta(minutes=70, seconds=0.4))
    assert [f.slot_at for f in on_time] == [start + timedelta(minutes=70)]
    runs = env.services.store.runs.page(RunQuery(process_id=env.process_id), limit=100)
    assert len(runs) == len(fired_minutes) + 1


def test_a_disabled_schedule_does_not_fire_and_enabling_starts_from_now(env: Env) -> None:
    clock = FixedClock(T0)
    service = env.services.schedules
    service.clock = clock
    schedule = service.create(
        SYSTEM, agent_id=env.agent_id, process_id=env.process_id, name="n", kind="every", every_minutes=1
    )
    disabled = service.set_enabled(SYSTEM, schedule.id, False)
    assert disabled.next_at is None and service.next_fire_times(disabled) == []
    assert service.fire_due(T0 + timedelta(hours=1)) == []
    clock.now = T0 + timedelta(hours=2)
    enabled = service.set_enabled(SYSTEM, schedule.id, True)
    assert enabled.next_at == T0.replace(microsecond=0) + timedelta(hours=2, minutes=1)
    assert len(service.fire_due(T0 + timedelta(hours=2, minutes=1, seconds=1))) == 1


# --- daylight saving -------------------------------------------------------------------------------


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_the_scheduler_fires_the_spring_forward_slot_once(env: Env) -> None:
    clock = FixedClock(_utc("2024-03-30T12:00:00+01:00"))
    service = env.services.schedules
    service.clock = clock
    schedule = service.create(
        SYSTEM,
        agent_id=env.agent_id,
        process_id=env.process_id,
        name="nightly",
        kind="daily",
        at="02:30",
        timezone="Europe/Berlin",
    )
    assert service.next_fire_times(schedule)[0] == _utc("2024-03-31T03:00:00+02:00")
    fired = []
    for minutes in range(0, 24 * 60, 10):  # a scheduler looking every 10 minutes through the day
        fired += service.fire_due(_utc("2024-03-31T00:00:00+01:00") + timedelta(minutes=minutes))
    assert [f.slot_at for f in fired] == [_utc("2024-03-31T03:00:00+02:00")]


# --- the API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(env: Env) -> Iterator[tuple[Env, TestClient, str, str]]:
    other = env.services.store.agents.create("other")
    _, key = env.services.keys.create(agent_id=env.agent_id)
    _, other_key = env.services.keys.create(agent_id=other.id)
    with TestClient(create_app(env.settings, services=env.services), raise_server_exceptions=False) as client:
        yield env, client, key, other_key


def _call(client: TestClient, key: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return client.request(method, path, headers={"x-api-key": key}, **kw)


def test_schedules_api_create_get_list_patch_delete(api: tuple[Env, TestClient, str, str]) -> None:
    env, client, key, _ = api
    body = {
        "agent_id": env.agent_id,
        "process_id": env.process_id,
        "name": "nightly",
        "kind": "daily",
        "at": "02:30",
        "timezone": "Europe/Berlin",
        "catch_up": {"policy": "latest"},
    }
    r = _call(client, key, "POST", "/v2/schedules", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["kind"], created["at"], created["timezone"]) == ("daily", "02:30", "Europe/Berlin")
    assert created["catch_up"] == {"policy": "latest", "window_s": None}
    assert len(created["next_fire_times"]) == 5
    first = datetime.fromisoformat(created["next_fire_times"][0])
    assert first > datetime.now(UTC)
    assert first.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") in ("02:30", "03:00")
    r = _call(client, key, "GET", f"/v2/schedules/{created['id']}")
    assert r.status_code == 200 and r.json()["next_fire_times"] == created["next_fire_times"]
    r = _call(
        client, key, "GET", "/v2/schedules", params={"agent_id": env.agent_id, "process_id": env.process_id}
    )
    assert [s["id"] for s in r.json()["items"]] == [created["id"]]
    r = _call(client, key, "PATCH", f"/v2/schedules/{created['id']}", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["next_fire_times"] == []
    r = _call(
        client,
        key,
        "PATCH",
        f"/v2/schedules/{created['id']}",
        json={"kind": "cron", "cron": "*/5 * * * *", "enabled": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["cron"] == "*/5 * * * *" and "at" not in r.json()
    times = [datetime.fromisoformat(x) for x in r.json()["next_fire_times"]]
    assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(times))
    assert _call(client, key, "DELETE", f"/v2/schedules/{created['id']}").status_code == 204
    r = _call(client, key, "GET", f"/v2/schedules/{created['id']}")
    assert r.status_code == 404 and set(r.json()) == {"status_code", "message", "details"}


def test_a_draft_only_process_is_refused_and_inputs_are_required(
    api: tuple[Env, TestClient, str, str],
) -> None:
    env, client, key, _ = api
    draft = env.services.processes.create(SYSTEM, agent_id=env.agent_id, source='to draft\n  say "d"\n')
    body = {"agent_id": env.agent_id, "process_id": draft.id, "name": "n", "kind": "hourly"}
    r = _call(client, key, "POST", "/v2/schedules", json=body)
    assert r.status_code == 400
    assert r.json()["status_code"] == 400 and "published" in r.json()["message"]
    needs = env.services.processes.create(
        SYSTEM, agent_id=env.agent_id, source="to add\n  the sum is the amount + the tax\n"
    )
    env.services.processes.publish(SYSTEM, needs.id)
    body = {"agent_id": env.agent_id, "process_id": needs.id, "name": "n", "kind": "hourly"}
    r = _call(client, key, "POST", "/v2/schedules", json={**body, "inputs": {"amount": 1}})
    assert r.status_code == 400 and r.json()["details"] == [{"name": "input", "value": "tax"}], r.text
    r = _call(client, key, "POST", "/v2/schedules", json={**body, "inputs": {"amount": 1, "tax": 2}})
    assert r.status_code == 201, r.text
    r = _call(
        client,
        key,
        "POST",
        "/v2/schedules",
        json={**body, "kind": "daily", "inputs": {"amount": 1, "tax": 2}},
    )
    assert r.status_code == 400 and r.json()["details"][0]["name"] == "at"


def test_another_agents_key_sees_no_schedule(api: tuple[Env, TestClient, str, str]) -> None:
    env, client, key, other_key = api
    body = {
        "agent_id": env.agent_id,
        "process_id": env.process_id,
        "name": "n",
        "kind": "every",
        "every_minutes": 5,
    }
    created = _call(client, key, "POST", "/v2/schedules", json=body).json()
    for method, kw in (("GET", {}), ("PATCH", {"json": {"enabled": False}}), ("DELETE", {})):
        r = _call(client, other_key, method, f"/v2/schedules/{created['id']}", **kw)
        assert r.status_code == 404, (method, r.text)
    assert _call(client, other_key, "POST", "/v2/schedules", json=body).status_code == 404
    r = _call(client, other_key, "GET", "/v2/schedules", params={"agent_id": env.agent_id})
    assert r.status_code == 404
    assert _call(client, key, "GET", f"/v2/schedules/{created['id']}").json()["enabled"] is True


def test_a_stopped_scheduler_no_longer_listens_for_changes(env: Env) -> None:
    with running(Scheduler(env.services.schedules, max_sleep=0.01)):
        assert len(env.services.schedules.listeners) == 1
    assert env.services.schedules.listeners == []


# --- a scheduler in another process -------------------------------------------------------------

# ``plainrun scheduler``, mounted here too in case the command line does not mount it yet.
_CLI = (
    "from plainrun.cli import app, schedules\n"
    "if not any(c.name == 'scheduler' for c in app.registered_commands):\n"
    "    schedules.register(app)\n"
    "app(['scheduler'])\n"
)


@pytest.mark.postgres
def test_plainrun_scheduler_in_another_process_shares_slots_with_two_in_process(pg_env: Env) -> None:
    """A real clock and a slot every second: ``plainrun scheduler`` in a subprocess and two schedulers
    in this one fire every slot between the first and the last exactly once; SIGTERM stops it."""
    schedule = pg_env.services.schedules.create(
        SYSTEM,
        agent_id=pg_env.agent_id,
        process_id=pg_env.process_id,
        name="every second",
        kind="cron",
        cron="* * * * * *",
    )
    env = {**os.environ, "PLAINRUN_DATABASE_URL": pg_env.settings.database_url}
    env["PLAINRUN_DATA_DIR"] = str(pg_env.settings.data_dir)
    child = subprocess.Popen(
        [sys.executable, "-c", _CLI], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        others = [build_services(pg_env.settings) for _ in range(2)]
        try:
            with running(Scheduler(others[0].schedules)), running(Scheduler(others[1].schedules)):
                time.sleep(5)
            alone_from = datetime.now(UTC)
        finally:
            for services in others:
                services.close()
        time.sleep(1.5)  # the subprocess alone
    finally:
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=20)
    assert child.returncode == 0, output.decode()
    fires = pg_env.fires(schedule.id)
    slots = [f.slot_at for f in fires]
    assert len(slots) >= 5
    assert slots == [slots[0] + timedelta(seconds=n) for n in range(len(slots))]  # none twice or missing
    runs = pg_env.services.store.runs.page(RunQuery(process_id=pg_env.process_id), limit=1000)
    assert sorted(r.trigger_ref or "" for r in runs) == sorted(slot_ref(schedule.id, s) for s in slots)
    assert slots[-1] > alone_from  # the subprocess fired on alone
    assert b"slot fired" in output
