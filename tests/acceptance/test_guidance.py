"""A run waits for a person across a restart of the whole service, and resumes on the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from plainrun.cli import guidance as guidance_cli
from tests.acceptance.conftest import LiveServer, start_server, stop_server
from tests.integration.test_guidance import APPROVE, counting_server

LOCAL_BOOKS = {"PLAINRUN_OUTBOUND_ALLOW": "127.0.0.1"}  # the processes fetch from a server on loopback


def wait_status(
    server: LiveServer, key: str, run_id: str, status: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = httpx.get(f"{server.url}/v2/runs/{run_id}", headers={"x-api-key": key}).json()
        if run["status"] == status:
            return run  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run['status']} ({run['state']}), not {status}")
        time.sleep(0.1)


def publish(server: LiveServer, key: str, agent_id: str, source: str) -> str:
    headers = {"x-api-key": key}
    created = httpx.post(
        f"{server.url}/v2/processes", headers=headers, json={"agent_id": agent_id, "source": source}
    )
    assert created.status_code == 201, created.text
    process_id: str = created.json()["id"]
    assert httpx.post(f"{server.url}/v2/processes/{process_id}/publish", headers=headers).status_code == 201
    return process_id


def start(server: LiveServer, key: str, agent_id: str, process_id: str, url: str) -> str:
    body = {
        "name": "approval",
        "process_id": process_id,
        "agent_id": agent_id,
        "stage": "Published",
        "inputs": {"url": url},
    }
    r = httpx.post(f"{server.url}/v2/runs", headers={"x-api-key": key}, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


def test_a_waiting_run_survives_a_restart_and_succeeds_with_the_answer(tmp_path: Path) -> None:
    with counting_server() as book:
        url = f"http://127.0.0.1:{book.server_port}/status"
        server = start_server(tmp_path, settings=LOCAL_BOOKS)
        try:
            key, agent_id = server.demo["PLAINRUN_KEY"], server.demo["AGENT_ID"]
            process_id = publish(server, key, agent_id, APPROVE)
            run_id = start(server, key, agent_id, process_id, url)
            waiting = wait_status(server, key, run_id, "Exception")
            assert waiting["state"] == "AwaitingGuidance"
            assert waiting["error"]["question"] == "Approve?" and waiting["error"]["choices"] == ["yes", "no"]
        finally:
            stop_server(server)
        assert book.hits == 1  # type: ignore[attr-defined]

        server = start_server(
            tmp_path, settings=LOCAL_BOOKS
        )  # a new service on the same database and data directory
        try:
            headers = {"x-api-key": key}
            refused = httpx.post(
                f"{server.url}/v2/runs/{run_id}/guidance",
                headers=headers,
                json={"action": "value", "value": "ok"},
            )
            assert refused.status_code == 400 and "yes, no" in refused.json()["message"]
            answered = httpx.post(
                f"{server.url}/v2/runs/{run_id}/guidance",
                headers=headers,
                json={"action": "value", "value": "yes"},
            )
            assert answered.status_code == 200, answered.text
            run = wait_status(server, key, run_id, "Succeeded")
            assert run["outputs"] == [
                {"name": "answer", "value": "yes"},
                {"name": "summary", "value": "ok: yes"},
            ]
            again = httpx.post(
                f"{server.url}/v2/runs/{run_id}/guidance",
                headers=headers,
                json={"action": "value", "value": "yes"},
            )
            assert again.status_code == 409 and set(again.json()) == {"status_code", "message", "details"}
        finally:
            stop_server(server)
        assert book.hits == 1  # type: ignore[attr-defined]  # the book call before the question ran once


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server whose processes may reach the book server on loopback."""
    server = start_server(tmp_path, settings=LOCAL_BOOKS)
    yield server
    stop_server(server)


@pytest.fixture
def cli(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """``plainrun runs`` with the guidance command, over the live server's database."""
    for name in ("PLAINRUN_DATABASE_URL", "PLAINRUN_DATA_DIR"):
        monkeypatch.setenv(name, live_server.env[name])
    app = typer.Typer()
    guidance_cli.register_runs(app)
    app.add_typer(guidance_cli.learnings, name="learnings")
    return app


def test_the_cli_answers_a_waiting_run_and_lists_and_deletes_learnings(
    live_server: LiveServer, cli: typer.Typer
) -> None:
    key, agent_id = live_server.demo["PLAINRUN_KEY"], live_server.demo["AGENT_ID"]
    with counting_server() as book:
        process_id = publish(live_server, key, agent_id, APPROVE)
        run_id = start(live_server, key, agent_id, process_id, f"http://127.0.0.1:{book.server_port}/s")
        wait_status(live_server, key, run_id, "Exception")
        runner = CliRunner()
        assert runner.invoke(cli, ["answer", run_id]).exit_code != 0  # one of the four is required
        assert runner.invoke(cli, ["answer", run_id, "--skip", "--stop"]).exit_code != 0
        refused = runner.invoke(cli, ["answer", run_id, "--value", "maybe"])
        assert refused.exit_code == 2, refused.output  # bad input
        answered = runner.invoke(cli, ["answer", run_id, "--value", "no", "--remember", "--json"])
        assert answered.exit_code == 0, answered.output
        assert json.loads(answered.output)["state"] in ("Pending", "Running", "Succeeded")
        run = wait_status(live_server, key, run_id, "Succeeded")
        assert run["outputs"][0] == {"name": "answer", "value": "no"}
        listed = runner.invoke(cli, ["learnings", "list", process_id], terminal_width=200)
        assert listed.exit_code == 0 and "Approve?" in listed.output
        learning_id = httpx.get(
            f"{live_server.url}/v2/learnings", params={"process_id": process_id}, headers={"x-api-key": key}
        ).json()["items"][0]["id"]
        assert runner.invoke(cli, ["learnings", "delete", learning_id]).exit_code == 0
        assert runner.invoke(cli, ["learnings", "delete", learning_id]).exit_code == 4  # not found
        assert book.hits == 1  # type: ignore[attr-defined]
