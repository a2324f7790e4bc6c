"""Guidance end to end: a real worker pauses a run, the API answers it, the worker resumes it."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from plainrun.domain.runs import Run, RunState
from plainrun.engine.worker import WorkerConfig
from plainrun.http.app import create_app
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings
from tests.integration.test_engine import wait_for, worker_in_thread

APPROVE = (
    "to approve a request\n"
    "  fetch json from the url\n"
    "  the status is the above's status\n"
    '  ask "Approve?"\n'
    '    the choices are "yes", "no"\n'
    "  the output answer is the above\n"
    '  the output summary is "{the status}: {the above}"\n'
)


class Hits(http.server.BaseHTTPRequestHandler):
    """A JSON endpoint that counts the calls it gets, per server."""

    def do_GET(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def counting_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hits)
    server.hits = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Env:
    client: TestClient
    services: Services
    agent_id: str
    key: str
    other_key: str
    url: str
    book: http.server.ThreadingHTTPServer

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, headers={"x-api-key": key or self.key}, **kw)

    def process(self, source: str = APPROVE) -> str:
        r = self.call("POST", "/v2/processes", json={"agent_id": self.agent_id, "source": source})
        assert r.status_code == 201, r.text
        assert self.call("POST", f"/v2/processes/{r.json()['id']}/publish").status_code == 201
        return r.json()["id"]  # type: ignore[no-any-return]

    def start(self, process_id: str) -> str:
        body = {
            "name": "a run",
            "process_id": process_id,
            "agent_id": self.agent_id,
            "stage": "Published",
            "inputs": {"url": self.url},
        }
        r = self.call("POST", "/v2/runs", json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]  # type: ignore[no-any-return]

    def run(self, run_id: str) -> Run:
        run = self.services.store.runs.get(run_id)
        assert run is not None
        return run

    def wait(self, run_id: str, state: RunState, attempt: int | None = None) -> Run:
        def reached() -> bool:
            run = self.run(run_id)
            return run.state is state and (attempt is None or run.attempt == attempt)

        wait_for(reached, 30, f"{run_id} to be {state.value}")
        return self.run(run_id)

    def answer(self, run_id: str, key: str | None = None, **body: Any) -> httpx.Response:
        return self.call("POST", f"/v2/runs/{run_id}/guidance", key=key, json=body)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, key_cache_s=0, outbound_allow="127.0.0.1"
    )
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    other = services.store.agents.create("other")
    _, key = services.keys.create(agent_id=agent.id)
    _, other_key = services.keys.create(agent_id=other.id)
    try:
        with (
            worker_in_thread(services, WorkerConfig(executor_size=1, concurrency=4).with_lease(5)),
            counting_server() as book,
            TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client,
        ):
            yield Env(
                client=client,
                services=services,
                agent_id=agent.id,
                key=key,
                other_key=other_key,
                url=f"http://127.0.0.1:{book.server_port}/status",
                book=book,
            )
    finally:
        services.close()


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status_code", "message", "details"} and body["status_code"] == status
    return body  # type: ignore[no-any-return]


def test_an_answer_resumes_the_run_which_uses_it_and_calls_no_book_twice(env: Env) -> None:
    run_id = env.start(env.process())
    waiting = env.wait(run_id, RunState.AWAITING_GUIDANCE)
    assert (
        waiting.error
        and waiting.error["question"] == "Approve?"
        and waiting.error["choices"] == ["yes", "no"]
    )
    shown = env.call("GET", f"/v2/runs/{run_id}").json()
    assert shown["status"] == "Exception" and shown["error"]["line"] == 4

    answered = env.answer(run_id, action="value", value=" YES ")
    assert answered.status_code == 200, answered.text
    # Pending, or already claimed again by the worker; no longer waiting, and no error shown.
    assert answered.json()["state"] in ("Pending", "Running", "Succeeded")

    run = env.wait(run_id, RunState.SUCCEEDED)
    assert run.outputs == [{"name": "answer", "value": "yes"}, {"name": "summary", "value": "ok: yes"}]
    assert env.book.hits == 1  # type: ignore[attr-defined]
    assert run.attempt == 2 and run.max_attempts == env.services.settings.max_attempts + 1
    events = env.call("GET", f"/v2/runs/{run_id}/events").json()["items"]
    guidance = [e for e in events if e["kind"] == "guidance"]
    assert len(guidance) == 1
    assert guidance[0]["from_state"] == "AwaitingGuidance" and guidance[0]["to_state"] == "Pending"
    assert guidance[0]["data"]["action"] == "value" and guidance[0]["data"]["value"] == "yes"
    assert guidance[0]["data"]["question"] == "Approve?" and guidance[0]["data"]["by"]


def test_answers_that_do_not_fit_are_refused_and_change_nothing(env: Env) -> None:
    run_id = env.start(env.process())
    env.wait(run_id, RunState.AWAITING_GUIDANCE)
    body = assert_error(env.answer(run_id, action="value", value="maybe"), 400)
    assert "yes, no" in body["message"]
    assert {"name": "choice", "value": "yes"} in body["details"]
    assert {"name": "choice", "value": "no"} in body["details"]
    assert_error(env.answer(run_id, action="value"), 400)  # a value is needed
    assert_error(env.answer(run_id, action="skip", value="yes"), 400)  # only value takes one
    assert_error(env.answer(run_id, action="shrug"), 400)
    assert_error(env.answer(run_id, action="retry", remember=True), 400)
    assert_error(env.answer(run_id, key=env.other_key, action="value", value="yes"), 404)
    assert_error(env.answer("0" * 25, action="value", value="yes"), 404)
    assert_error(env.answer("not an id!", action="value", value="yes"), 404)
    assert env.run(run_id).state is RunState.AWAITING_GUIDANCE

    assert env.answer(run_id, action="value", value="no").status_code == 200
    # Answered already: the run is pending or running or done, not waiting.
    assert_error(env.answer(run_id, action="value", value="yes"), 409)
    env.wait(run_id, RunState.SUCCEEDED)
    body = assert_error(env.answer(run_id, action="stop"), 409)
    assert "Succeeded" in body["message"]


def test_stop_fails_the_run_saying_guidance_stopped_it(env: Env) -> None:
    run_id = env.start(env.process())
    env.wait(run_id, RunState.AWAITING_GUIDANCE)
    r = env.answer(run_id, action="stop")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Exception" and r.json()["state"] == "Failed"
    run = env.run(run_id)
    assert run.error and run.error["kind"] == "stopped" and "stopped by guidance" in run.error["message"]
    assert run.finished_at is not None
    assert_error(env.answer(run_id, action="value", value="yes"), 409)


def test_skip_goes_on_without_a_value_and_retry_asks_again(env: Env) -> None:
    process_id = env.process()
    skipped = env.start(process_id)
    env.wait(skipped, RunState.AWAITING_GUIDANCE)
    assert env.answer(skipped, action="skip").status_code == 200
    assert env.wait(skipped, RunState.SUCCEEDED).outputs == [
        {"name": "answer", "value": "Not Found"},
        {"name": "summary", "value": "ok: Not Found"},
    ]

    retried = env.start(process_id)
    env.wait(retried, RunState.AWAITING_GUIDANCE, attempt=1)
    assert env.answer(retried, action="retry").status_code == 200
    again = env.wait(retried, RunState.AWAITING_GUIDANCE, attempt=2)
    assert again.error and again.error["question"] == "Approve?"
    assert env.answer(retried, action="value", value="no").status_code == 200
    assert env.wait(retried, RunState.SUCCEEDED).outputs[1] == {"name": "summary", "value": "ok: no"}  # type: ignore[index]
    assert env.book.hits == 2  # type: ignore[attr-defined]  # once per run, however often it paused


def test_a_remembered_answer_answers_later_runs_until_it_is_deleted(env: Env) -> None:
    process_id = env.process()
    first = env.start(process_id)
    env.wait(first, RunState.AWAITING_GUIDANCE)
    assert env.answer(first, action="value", value="yes", remember=True).status_code == 200
    env.wait(first, RunState.SUCCEEDED)

    listed = env.call("GET", "/v2/learnings", params={"process_id": process_id, "agent_id": env.agent_id})
    assert listed.status_code == 200, listed.text
    [learning] = listed.json()["items"]
    assert (learning["line"], learning["question"], learning["action"], learning["value"]) == (
        4,
        "Approve?",
        "value",
        "yes",
    )
    assert_error(env.call("GET", "/v2/learnings", key=env.other_key, params={"process_id": process_id}), 404)

    second = env.start(process_id)
    run = env.wait(second, RunState.SUCCEEDED)
    assert run.outputs == [{"name": "answer", "value": "yes"}, {"name": "summary", "value": "ok: yes"}]
    events = env.services.store.runs.events(second)
    [guided] = [e for e in events if e.kind == "guidance"]
    assert guided.data and guided.data["by"] == "learning" and guided.data["learning_id"] == learning["id"]

    assert_error(env.call("DELETE", f"/v2/learnings/{learning['id']}", key=env.other_key), 404)
    assert env.call("DELETE", f"/v2/learnings/{learning['id']}").status_code == 204
    assert_error(env.call("DELETE", f"/v2/learnings/{learning['id']}"), 404)
    assert env.call("GET", "/v2/learnings", params={"process_id": process_id}).json()["items"] == []
    third = env.start(process_id)
    env.wait(third, RunState.AWAITING_GUIDANCE)


def test_a_remembered_stop_fails_later_runs_and_a_new_answer_replaces_it(env: Env) -> None:
    process_id = env.process()
    first = env.start(process_id)
    env.wait(first, RunState.AWAITING_GUIDANCE)
    assert env.answer(first, action="stop", remember=True).status_code == 200
    second = env.start(process_id)
    failed = env.wait(second, RunState.FAILED)
    assert failed.error and failed.error["kind"] == "stopped"

    store = env.services.store
    store.guidance.remember(
        agent_id=env.agent_id, process_id=process_id, line=4, question="Approve?", action="skip"
    )
    assert [item.action for item in store.guidance.of_process(process_id)] == ["skip"]


def test_a_late_or_repeated_answer_is_fenced_out(env: Env) -> None:
    run_id = env.start(env.process())
    waiting = env.wait(run_id, RunState.AWAITING_GUIDANCE)
    assert waiting.exec_state is not None
    stale = {"by": "test"}
    assert not env.services.store.guidance.resume(
        run_id, exec_state=waiting.exec_state, event_data=stale, attempt=waiting.attempt + 1
    )
    assert env.answer(run_id, action="retry").status_code == 200
    env.wait(run_id, RunState.AWAITING_GUIDANCE, attempt=2)
    # The first pause's answer arrives late: the run paused again since, in another attempt.
    assert not env.services.store.guidance.resume(
        run_id, exec_state=waiting.exec_state, event_data=stale, attempt=waiting.attempt
    )
    assert not env.services.guidance.auto_answer(run_id, attempt=1)
    assert env.run(run_id).state is RunState.AWAITING_GUIDANCE
