"""Resource bounds of an installation and an agent: a run's longest time (and code in C stopped by
it), the bytes of files runs write and agents keep, how often a schedule fires, and the scheduler
carrying on past one schedule's error."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from plainrun.engine.worker import WorkerConfig
from plainrun.http import create_app
from plainrun.services.container import Services, build_services
from plainrun.store import schema as t
from tests.security.conftest import GREET, settings_for, wait_for

# Catastrophic backtracking: the regex engine, in C, would take far longer than any run may.
BACKTRACK = (
    'to test a slow pattern\n  extract "(a+)+$" from "' + "a" * 64 + '!"\n  the output found is the above\n'
)
_names = itertools.count()
TICK = 'to tick\n  say "tick"\n'
QUOTA = 10_000
ATTEMPT_BYTES = 4096


def _writes(*sizes: int) -> str:
    lines = "".join(f'  write "{"x" * size}" to a file named "f{n}.txt"\n' for n, size in enumerate(sizes))
    return f"to write files\n{lines}  the output done is true\n"


@dataclass
class Env:
    client: TestClient
    services: Services
    agent_id: str
    key: str
    data_dir: Path

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"x-api-key": self.key, **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def process(self, source: str, **settings: Any) -> str:
        """A published process of its own name (an agent's process names are unique)."""
        name = f"process {next(_names)}"
        body = {"agent_id": self.agent_id, "source": source, "name": name, "settings": settings}
        r = self.call("POST", "/v2/processes", json=body)
        assert r.status_code == 201, r.text
        assert self.call("POST", f"/v2/processes/{r.json()['id']}/publish").status_code == 201
        return str(r.json()["id"])

    def run(self, process_id: str) -> str:
        body = {"name": "r", "process_id": process_id, "agent_id": self.agent_id, "stage": "Published"}
        r = self.call("POST", "/v2/runs", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def finished(self, run_id: str) -> dict[str, Any]:
        def done() -> bool:
            return self.call("GET", f"/v2/runs/{run_id}").json()["state"] not in ("Pending", "Running")

        wait_for(done, 60, f"run {run_id} to end")
        return self.call("GET", f"/v2/runs/{run_id}").json()  # type: ignore[no-any-return]

    def file_names(self) -> list[str]:
        with self.services.store.database.read() as tx:
            rows = tx.rows(sa.select(t.files.c.name).where(t.files.c.agent_id == self.agent_id))
        return sorted(r["name"] for r in rows)


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = settings_for(
        sqlite_url,
        tmp_path,
        run_timeout_s=20,
        max_run_timeout_s=30,
        max_run_file_bytes=ATTEMPT_BYTES,
        agent_quota_bytes=QUOTA,
    )
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    worker = WorkerConfig(executor_size=1, concurrency=2, poll_s=0.2)
    app = create_app(settings, services=services, worker=worker)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Env(client, services, agent.id, key, tmp_path)
    services.close()


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        ("1e308", "timeout_s must be a positive number of seconds, at most 30 (PLAINRUN_MAX_RUN_TIMEOUT_S)."),
        ("31", "timeout_s must be a positive number of seconds, at most 30 (PLAINRUN_MAX_RUN_TIMEOUT_S)."),
        # no database keeps them: refused with the body, saying why
        ("NaN", "Invalid input values: NaN is not a number JSON can hold"),
        ("Infinity", "Invalid input values: numbers must be finite"),
        ("-Infinity", "Invalid input values: numbers must be finite"),
        (
            str(2**64),
            "timeout_s must be a positive number of seconds, at most 30 (PLAINRUN_MAX_RUN_TIMEOUT_S).",
        ),
    ],
)
def test_a_timeout_over_the_installations_longest_or_not_finite_is_a_400(
    env: Env, timeout: str, message: str
) -> None:
    body = '{"agent_id": "%s", "source": %s, "settings": {"timeout_s": %s}}'
    r = env.call(
        "POST",
        "/v2/processes",
        content=body % (env.agent_id, json.dumps(GREET), timeout),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(message), r.text
    process_id = env.process(GREET)
    r = env.call("PATCH", f"/v2/processes/{process_id}", json={"settings": {"timeout_s": 30.5}})
    assert r.status_code == 400 and "at most 30 " in r.json()["message"], r.text
    r = env.call("PATCH", f"/v2/processes/{process_id}", json={"settings": {"timeout_s": 30}})
    assert r.status_code == 200, r.text


def test_work_in_c_is_stopped_by_the_runs_timeout_and_the_worker_goes_on(env: Env) -> None:
    stuck = env.run(env.process(BACKTRACK, timeout_s=2))
    run = env.finished(stuck)
    assert (run["state"], run["status"]) == ("TimedOut", "Stopped"), run
    assert "maximum execution time of 2 s" in run["error"]["message"]
    after = env.finished(env.run(env.process(TICK)))
    assert after["state"] == "Succeeded"


def test_a_run_writing_more_than_its_bound_fails_and_keeps_nothing_of_the_file_over_it(env: Env) -> None:
    run = env.finished(env.run(env.process(_writes(3000, 3000))))
    assert run["state"] == "Failed", run["error"]
    assert f"at most {ATTEMPT_BYTES} bytes of files" in run["error"]["message"]
    assert "PLAINRUN_MAX_RUN_FILE_BYTES" in run["error"]["message"]
    assert env.file_names() == ["f0.txt"]  # the second file left no record behind


def test_an_agent_over_its_quota_is_refused_uploads_and_file_writing_runs(env: Env) -> None:
    assert env.finished(env.run(env.process(_writes(3500))))["state"] == "Succeeded"
    target = env.call("POST", "/v2/files", json={"agent_id": env.agent_id, "name": "up.bin"}).json()
    upload = env.client.post(
        f"/v2/files/{target['file_id']}/upload",
        data=target["upload_fields"],
        files={"file": ("up.bin", b"u" * 5000, "application/octet-stream")},
    )
    assert upload.status_code == 204, upload.text  # 8,500 of 10,000 bytes used
    blobs = sorted(p for p in (env.data_dir / "files").rglob("*") if p.is_file())
    target = env.call("POST", "/v2/files", json={"agent_id": env.agent_id, "name": "more.bin"}).json()
    upload = env.client.post(
        f"/v2/files/{target['file_id']}/upload",
        data=target["upload_fields"],
        files={"file": ("more.bin", b"m" * 2000, "application/octet-stream")},
    )
    assert upload.status_code == 413, upload.text
    assert upload.json()["message"] == (
        f"The agent's files would pass its quota of {QUOTA} bytes (PLAINRUN_AGENT_QUOTA_BYTES); "
        "1500 bytes are left."
    )
    assert sorted(p for p in (env.data_dir / "files").rglob("*") if p.is_file()) == blobs  # none of it
    run = env.finished(env.run(env.process(_writes(2000))))
    assert run["state"] == "Failed" and "would pass its quota" in run["error"]["message"], run
    assert "f0.txt" in env.file_names() and env.file_names().count("f0.txt") == 1


def _schedule(env: Env, **timing: Any) -> httpx.Response:
    process_id = env.process(TICK)
    body = {"agent_id": env.agent_id, "process_id": process_id, "name": "s", **timing}
    return env.call("POST", "/v2/schedules", json=body)


@pytest.mark.parametrize(
    ("timing", "message"),
    [
        ({"kind": "cron", "cron": "* * * * * *"}, "a seconds field is not allowed"),
        ({"kind": "cron", "cron": "*/30 * * * * 0"}, "a seconds field is not allowed"),
        ({"kind": "cron", "cron": "0 0 30 2 *"}, "names a date that never comes"),
        ({"kind": "cron", "cron": "0 9 31 4 *"}, "names a date that never comes"),
    ],
)
def test_a_cron_with_seconds_or_of_a_date_that_never_comes_is_a_400(
    env: Env, timing: dict[str, Any], message: str
) -> None:
    r = _schedule(env, **timing)
    assert r.status_code == 400, r.text
    assert message in r.json()["message"]
    assert set(r.json()) == {"status_code", "message", "details"}


def test_a_schedule_firing_more_often_than_the_installation_allows_is_a_400(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = settings_for(sqlite_url, tmp_path, min_schedule_interval_s=300)
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client:
        env = Env(client, services, agent.id, key, tmp_path)
        for timing in ({"kind": "cron", "cron": "*/2 * * * *"}, {"kind": "every", "every_minutes": 4}):
            r = _schedule(env, **timing)
            assert r.status_code == 400, r.text
            assert "at most once every 300 seconds (PLAINRUN_MIN_SCHEDULE_INTERVAL_S)" in r.json()["message"]
        assert _schedule(env, kind="cron", cron="*/5 * * * *").status_code == 201
    services.close()


def test_the_scheduler_fires_every_other_schedule_past_one_that_fails(env: Env) -> None:
    """A schedule stored before its timing was refused (a date that never comes) fails alone: the
    others fire, and it is looked at again a minute later, not in a tight loop."""
    services = env.services
    process_id = env.process(TICK)
    now = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)
    slot = now.replace(second=0)
    common = {"agent_id": env.agent_id, "process_id": process_id, "timezone": "UTC", "inputs": []}
    kept = {"catch_up": "skip", "catch_up_window_s": None, "enabled": True, "next_at": slot}
    broken = services.store.schedules.create(
        name="never", kind="cron", spec={"cron": "0 0 30 2 *"}, **common, **kept
    )
    good = services.store.schedules.create(
        name="every minute", kind="cron", spec={"cron": "* * * * *"}, **common, **kept
    )
    fired = services.schedules.fire_due(now)
    assert [f.schedule_id for f in fired] == [good.id]
    assert services.store.schedules.get(good.id).next_at == slot + timedelta(minutes=1)  # type: ignore[union-attr]
    assert services.store.schedules.get(broken.id).next_at == now + timedelta(minutes=1)  # type: ignore[union-attr]
