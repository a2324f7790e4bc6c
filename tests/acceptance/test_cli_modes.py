"""The everyday commands of the real ``plainrun`` command, both ways: on the database, and through a
service's URL with an agent's key (where the database it could reach is an empty one, so anything
it finds came through the API). The same command prints the same; ``--json`` is the API's shapes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from tests.acceptance.conftest import BIN, LiveServer, free_port, start_server, stop_server

SPEC = json.loads((Path(__file__).parents[1] / "spec" / "runs-v2.openapi.json").read_text())
INVOICE = """to check an invoice
  the total is the amount + the tax
  say "total {the total}"
  the output total is the total
"""
ASK = """to approve an amount
  ask "Approve {the amount}?"
    the choices are "yes", "no"
  the output answer is the above
"""


def validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


RUN_RESOURCE = validator(SPEC, "RunResource")
LIST_RESPONSE = validator(SPEC, "ListResponse")


class Cli:
    def __init__(self, env: dict[str, str]):
        self.env = env

    def __call__(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "plainrun"), *args], env=self.env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == code, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self(*args, "--json", code=code).stdout)


@pytest.fixture(params=["database", "url"])
def cli(request: pytest.FixtureRequest, live_server: LiveServer, tmp_path: Path) -> Cli:
    agent_id = live_server.demo["AGENT_ID"]
    env = {**live_server.env, "COLUMNS": "60", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    if request.param == "url":
        key = live_server.plainrun("keys", "create", "--agent", agent_id).stdout.strip().splitlines()[-1]
        elsewhere = tmp_path / "elsewhere"
        env.update(
            PLAINRUN_URL=live_server.url,
            PLAINRUN_KEY=key,
            PLAINRUN_DATABASE_URL=f"sqlite:///{elsewhere / 'empty.db'}",
            PLAINRUN_DATA_DIR=str(elsewhere),
        )
    return Cli(env)


def api(server: LiveServer, path: str) -> Any:
    key = server.demo["PLAINRUN_KEY"]
    response = httpx.get(f"{server.url}{path}", headers={"x-api-key": key}, timeout=60)  # a loaded machine
    assert response.status_code == 200, response.text
    return response.json()


def test_the_everyday_commands_the_same_on_the_database_and_through_the_api(
    cli: Cli, live_server: LiveServer, tmp_path: Path
) -> None:
    agent_id = live_server.demo["AGENT_ID"]
    own = validator(api(live_server, "/v2/openapi.json"), "ProcessList")
    source = tmp_path / "invoice.process"
    source.write_text(INVOICE)
    pushed = cli("processes", "push", str(source), "--agent", agent_id, "--publish")
    process_id = pushed.stdout.strip().splitlines()[-1]
    assert "published version 1" in pushed.stdout

    # Lists: --json is the API's list, -q the ids alone, and a narrow table never cuts an id.
    listed = cli.json("processes", "list", "--agent", agent_id)
    own.validate(listed)
    assert listed == {**api(live_server, f"/v2/processes?agent_id={agent_id}"), "continuation_token": None}
    assert process_id in cli("processes", "list", "--agent", agent_id, "-q").stdout.splitlines()
    assert process_id in cli("processes", "list", "--agent", agent_id).stdout

    # --wait shows the log line and the state changes as they come; --json prints the run at the end.
    attached = tmp_path / "invoice.csv"
    attached.write_text("amount,tax\n100,20\n")
    started = cli(
        "runs",
        "start",
        process_id,
        "-i",
        "amount=100",
        "-i",
        "tax=20",
        "-f",
        str(attached),
        "--wait",
        "--json",
    )
    run = json.loads(started.stdout)
    RUN_RESOURCE.validate(run)
    (file_id,) = run["file_ids"]
    assert cli.json("files", "get", file_id) == api(live_server, f"/v2/files/{file_id}")
    assert run["status"] == "Succeeded" and run["outputs"] == [{"name": "total", "value": 120}]
    assert "total 120" in started.stderr and "Running → Succeeded" in started.stderr
    assert cli.json("runs", "get", run["id"]) == api(live_server, f"/v2/runs/{run['id']}")
    runs = cli.json("runs", "list", process_id)
    LIST_RESPONSE.validate(runs)
    for item in runs["items"]:
        RUN_RESOURCE.validate(item)
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    assert cli("runs", "list", process_id, "-q").stdout.split() == [run["id"]]
    events = cli.json("runs", "events", run["id"])
    assert events == api(live_server, f"/v2/runs/{run['id']}/events")

    # A run that asks a question: --wait prints it with its choices and exits 3; answered, it ends.
    source.write_text(ASK)
    asking = cli("processes", "push", str(source), "--agent", agent_id, "--publish").stdout.split()[-1]
    waiting = cli("runs", "start", asking, "-i", "amount=5", "--wait", code=3)
    assert "question (line 2): Approve 5?" in waiting.stdout and "choices: yes, no" in waiting.stdout
    waiting_id = waiting.stdout.split()[1]
    cli("runs", "answer", waiting_id, "--value", "maybe", code=2)  # not one of the choices
    answered = cli.json("runs", "answer", waiting_id, "--value", "yes")
    RUN_RESOURCE.validate(answered)
    watched = cli("runs", "watch", waiting_id, "--timeout", "120")
    assert "answer = yes" in watched.stdout and "AwaitingGuidance → Pending" in watched.stdout

    # Bulk actions, test cases and the Test Suite.
    assert cli.json("runs", "archive", run["id"]) == {
        "results": [{"run_id": run["id"], "result": "archived"}]
    }
    assert cli.json("runs", "list", process_id)["items"] == []
    cli("runs", "unarchive", run["id"])
    added = cli.json("test-cases", "add", run["id"])["results"]
    assert [a["result"] for a in added] == ["added"]
    assert cli("test-cases", "list", process_id, "-q").stdout.split() == [added[0]["test_case_id"]]
    suite = cli("test", process_id)
    assert "1 passed, 0 failed" in suite.stdout

    # Exit codes: not found, bad input.
    missing = cli("runs", "get", "0" * 25, code=4)
    assert "not found" in missing.stderr.lower()
    cli("runs", "start", process_id, "-i", "amount", code=2)


def test_through_the_api_the_key_scope_holds_and_an_absent_service_is_exit_5(
    live_server: LiveServer, tmp_path: Path
) -> None:
    agent_id = live_server.demo["AGENT_ID"]
    other = live_server.plainrun("agents", "create", "elsewhere").stdout.strip()
    source = tmp_path / "p.process"
    source.write_text(INVOICE)
    theirs = live_server.plainrun("processes", "push", str(source), "--agent", other).stdout.split()[-1]
    key = live_server.plainrun("keys", "create", "--agent", agent_id).stdout.strip().splitlines()[-1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLAINRUN_")},
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    cli = Cli(env)
    # No URL anywhere yet, and no database here: login writes the profile the commands then use.
    login = cli("login", "--url", live_server.url, "--key", key)
    assert agent_id in login.stdout
    assert (tmp_path / "config" / "plainrun" / "profile.json").stat().st_mode & 0o077 == 0
    assert {p["agent_id"] for p in cli.json("processes", "list", "--agent", agent_id)["items"]} == {agent_id}
    cli("processes", "show", theirs, code=4)  # another agent's process: not found, not forbidden
    cli("processes", "list", "--agent", other, code=4)
    cli("--url", f"http://127.0.0.1:{free_port()}", "runs", "get", "0" * 25, code=5)
    cli("login", "--url", live_server.url, "--key", "pr_wrong", code=1)
    cli("logout")
    assert not (tmp_path / "config" / "plainrun" / "profile.json").exists()


def test_ctrl_c_stops_the_watching_not_the_run(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--no-worker")  # no worker: the run stays Pending while watched
    try:
        process_id = server.demo["PROCESS_GREET"]
        run_id = server.plainrun("runs", "start", process_id, "-i", "customer name=Ada").stdout.strip()
        watching = subprocess.Popen(
            [str(BIN / "plainrun"), "runs", "watch", run_id],
            env=server.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watching.stdout is not None
        assert "created" in watching.stdout.readline()  # it is watching
        watching.send_signal(signal.SIGINT)
        _, err = watching.communicate(timeout=60)
        assert watching.returncode == 130 and f"stopped watching; run {run_id} goes on" in err
        assert api(server, f"/v2/runs/{run_id}")["state"] == "Pending"
    finally:
        stop_server(server)


def test_shell_completion_names_commands_and_choices() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_PLAINRUN_COMPLETE": "complete_bash", "COMP_WORDS": words}
        env["COMP_CWORD"] = str(len(words.split()) - (0 if words.endswith(" ") else 1))
        done = subprocess.run([str(BIN / "plainrun")], env=env, capture_output=True, text=True, timeout=60)
        return done.stdout.split()

    assert complete("plainrun runs wa") == ["watch"]
    assert complete("plainrun runs start P --stage ") == ["Draft", "Published"]
    script = subprocess.run(
        [str(BIN / "plainrun"), "--show-completion", "bash"], capture_output=True, text=True, timeout=60
    )
    assert "_PLAINRUN_COMPLETE=complete_bash" in script.stdout
