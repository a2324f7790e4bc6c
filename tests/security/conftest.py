"""Fixtures for the security tests: two agents on one installation, each with its own scoped key.

``world`` is built once per module and database (SQLite and PostgreSQL): agent B owns one resource
of every kind, made through the API by a real worker inside the app (so runs really succeed and
really wait on a question); agent A owns a process and a file of its own. Tests call the API with
A's key and B's ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from plainrun.engine.worker import WorkerConfig
from plainrun.http import create_app
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings

GREET = 'to greet a customer\n  the output greeting is "Hello, {the customer name}!"\n'
GREET_V2 = 'to greet a customer\n  the output greeting is "Hi, {the customer name}!"\n'
APPROVE = (
    'to approve a request\n  ask "Approve?"\n    the choices are "yes", "no"\n'
    "  the output answer is the above\n"
)
HOLD = 'to hold a request\n  ask "Ready to go on?"\n  the output answer is the above\n'
MAX_UPLOAD = 64 * 1024
MAX_BODY = 256 * 1024
MAX_SOURCE = 8 * 1024


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class World:
    client: TestClient
    services: Services
    admin_key: str
    a_key: str
    b_key: str
    #: Names of things (``agent_a``, ``agent_b``, ``process_b``, ``run_waiting`` …) to their ids.
    ids: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"x-api-key": key or self.admin_key, **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def ok(self, method: str, path: str, key: str | None = None, status: int = 200, **kw: Any) -> Any:
        r = self.call(method, path, key, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def run_state(self, run_id: str) -> str:
        return str(self.ok("GET", f"/v2/runs/{run_id}")["state"])

    def wait_state(self, run_id: str, state: str) -> None:
        wait_for(lambda: self.run_state(run_id) == state, 60, f"run {run_id} to be {state}")

    def upload(self, agent: str, name: str, data: bytes, key: str | None = None) -> str:
        target = self.ok(
            "POST",
            "/v2/files",
            key,
            201,
            json={"agent_id": agent, "name": name, "content_type": "text/plain"},
        )
        r = self.client.post(
            target["upload_url"].removeprefix(str(self.client.base_url)),
            data=target["upload_fields"],
            files={"file": ("ignored.txt", data, "text/plain")},
        )
        assert r.status_code == 204, r.text
        return str(target["file_id"])


def settings_for(database_url: str, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        key_cache_s=0,
        max_upload_bytes=MAX_UPLOAD,
        max_body_bytes=MAX_BODY,
        max_source_bytes=MAX_SOURCE,
        public_url="http://testserver",
        **extra,
    )


def _build(world: World) -> None:
    """Agent B gets one of everything; agent A a process and a file of its own."""
    ids, b = world.ids, world.ids["agent_b"]
    ok = world.ok
    # A process with a published version 1 and an edited draft (revision 2).
    process = ok("POST", "/v2/processes", status=201, json={"agent_id": b, "source": GREET})
    ids["process_b"] = process["id"]
    ok("POST", f"/v2/processes/{process['id']}/publish", status=201)
    ok("PATCH", f"/v2/processes/{process['id']}", json={"source": GREET_V2, "description": "v2 draft"})
    for name, source in (("approve_b", APPROVE), ("hold_b", HOLD)):
        made = ok("POST", "/v2/processes", status=201, json={"agent_id": b, "source": source})
        ok("POST", f"/v2/processes/{made['id']}/publish", status=201)
        ids[name] = made["id"]
    ids["file_b"] = world.upload(b, "b-secret.txt", b"agent B's data")

    def start(process_id: str, **inputs: Any) -> str:
        body = {"name": "b's run", "process_id": process_id, "agent_id": b, "stage": "Published"}
        return str(ok("POST", "/v2/runs", status=201, json={**body, "inputs": inputs})["id"])

    # A succeeded run with a file, a test case from it and a finished test run.
    ids["run_done"] = ok(
        "POST",
        "/v2/runs",
        status=201,
        json={
            "name": "b's run with a file",
            "process_id": ids["process_b"],
            "agent_id": b,
            "stage": "Published",
            "inputs": {"customer name": "Ada"},
            "file_ids": [ids["file_b"]],
        },
    )["id"]
    world.wait_state(ids["run_done"], "Succeeded")
    added = ok("POST", "/v2/test-cases", json={"run_ids": [ids["run_done"]]})["results"]
    ids["test_case_b"] = added[0]["test_case_id"]
    test_run = ok(
        "POST", "/v2/test-runs", status=201, json={"agent_id": b, "process_ids": [ids["process_b"]]}
    )
    ids["test_run_b"] = test_run["id"]
    wait_for(
        lambda: ok("GET", f"/v2/test-runs/{ids['test_run_b']}")["state"] != "Running", 60, "the test run"
    )
    # A remembered answer (learning) from an answered run, and a run still waiting on its question.
    answered = start(ids["approve_b"])
    world.wait_state(answered, "AwaitingGuidance")
    ok("POST", f"/v2/runs/{answered}/guidance", json={"action": "value", "value": "yes", "remember": True})
    world.wait_state(answered, "Succeeded")
    ids["run_answered"] = answered
    ids["learning_b"] = ok("GET", "/v2/learnings", params={"process_id": ids["approve_b"]})["items"][0]["id"]
    ids["run_waiting"] = start(ids["hold_b"])
    world.wait_state(ids["run_waiting"], "AwaitingGuidance")
    # A schedule (disabled, so that nothing fires while the tests run), e-mail addresses and members.
    schedule = ok(
        "POST",
        "/v2/schedules",
        status=201,
        json={
            "agent_id": b,
            "process_id": ids["process_b"],
            "name": "b's schedule",
            "kind": "daily",
            "at": "09:00",
            "inputs": {"customer name": "Ada"},
            "enabled": False,
        },
    )
    ids["schedule_b"] = schedule["id"]
    webhook = ok(
        "POST",
        "/v2/webhooks",
        status=201,
        json={"agent_id": b, "url": "https://93.184.215.14/b-hook", "process_id": ids["process_b"]},
    )
    ids["webhook_b"] = webhook["id"]
    ok(
        "PUT",
        f"/v2/processes/{ids['process_b']}/email/permissions",
        json={"mode": "restricted", "senders": ["ap@b.example"]},
    )
    ok("PUT", f"/v2/agents/{b}/email/members", json={"senders": ["boss@b.example"]})
    ids["email_b"] = ok("GET", f"/v2/processes/{ids['process_b']}/email")["addresses"][1]["address"]
    # Agent A's own things, for requests that mix A's ids with B's.
    a = ids["agent_a"]
    made = ok("POST", "/v2/processes", status=201, json={"agent_id": a, "source": GREET})
    ok("POST", f"/v2/processes/{made['id']}/publish", status=201)
    ids["process_a"] = made["id"]
    ids["file_a"] = world.upload(a, "a.txt", b"agent A's data")


@pytest.fixture(scope="module")
def world(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("data")
    settings = settings_for(module_database_url, data_dir)
    services = build_services(settings, migrate=True)
    agent_a = services.store.agents.create("agent a")
    agent_b = services.store.agents.create("agent b")
    _, admin_key = services.keys.create(agent_id=None)
    _, a_key = services.keys.create(agent_id=agent_a.id)
    _, b_key = services.keys.create(agent_id=agent_b.id)
    worker = WorkerConfig(executor_size=1, concurrency=4, poll_s=0.2)
    app = create_app(settings, services=services, worker=worker)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            built = World(
                client, services, admin_key, a_key, b_key, {"agent_a": agent_a.id, "agent_b": agent_b.id}
            )
            _build(built)
            yield built
    finally:
        services.close()
