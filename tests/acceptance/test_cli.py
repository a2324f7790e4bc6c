"""The real ``plainrun`` command against a running service and its database."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.acceptance.conftest import LiveServer

PROCESS = """to check an invoice
  the total is the amount + the tax
  say "total {the total}"
  the output total is the total
"""


def test_cli_pushes_publishes_runs_and_waits(live_server: LiveServer, tmp_path: Path) -> None:
    agent_id = live_server.plainrun("agents", "create", "finance").stdout.strip()
    key = live_server.plainrun("keys", "create", "--agent", agent_id).stdout.strip().splitlines()[-1]
    source = tmp_path / "invoice.process"
    source.write_text(PROCESS)
    pushed = live_server.plainrun("processes", "push", str(source), "--agent", agent_id, "--publish")
    process_id = pushed.stdout.strip().splitlines()[-1]
    assert "published version 1" in pushed.stdout
    started = live_server.plainrun(
        "runs",
        "start",
        process_id,
        "-i",
        "amount=1,000.50",
        "-i",
        "tax=20",
        "--wait",
        "--timeout",
        "30",
        "--json",
    )
    run = json.loads(started.stdout)
    assert run["state"] == "Succeeded" and run["trigger"] == "manual"
    assert run["outputs"] == [{"name": "total", "value": 1020.5}]
    # The key the CLI printed works against the API, and sees exactly this agent's process.
    listed = httpx.get(
        f"{live_server.url}/v2/runs",
        params={"process_id": process_id, "agent_id": agent_id},
        headers={"x-api-key": key},
    ).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    # The worker runs in a child process of serve; its metrics are served at serve's /metrics.
    metrics = httpx.get(f"{live_server.url}/metrics/").text
    finished = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('plainrun_runs_finished_total{state="Succeeded"}')
    ]
    assert finished and finished[0] >= 1, metrics
    assert "plainrun_claim_latency_seconds_count" in metrics and "plainrun_runs{state=" in metrics
    events = json.loads(live_server.plainrun("runs", "events", run["id"], "--json").stdout)["items"]
    assert [e["to_state"] for e in events if e["kind"] == "state"] == ["Running", "Succeeded"]
    assert {"text": "total 1020.5"} in [e["data"] for e in events if e["kind"] == "log"]
    # A process with a syntax error is refused with its line, and the CLI exits non-zero.
    source.write_text("to check an invoice\n  the total is\n")
    refused = live_server.plainrun("processes", "push", str(source), "--agent", agent_id, check=False)
    assert refused.returncode == 2 and "line 2" in refused.stderr  # bad input
    keys = live_server.plainrun("keys", "list").stdout
    assert "default" in keys and key[4:] not in "".join(keys.split())  # the secret is never shown again
    # A run's name over the specification's 100 characters is refused, saying so; nothing starts.
    long = live_server.plainrun("runs", "start", process_id, "--name", "n" * 150, check=False)
    assert long.returncode == 2 and "at most 100 characters" in long.stderr
    assert (
        len(
            httpx.get(
                f"{live_server.url}/v2/runs",
                params={"process_id": process_id, "agent_id": agent_id},
                headers={"x-api-key": key},
            ).json()["items"]
        )
        == 1
    )
