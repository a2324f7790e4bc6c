"""``plainrun webhooks …`` against ``plainrun serve``: subscribe a local receiver, run a process,
see the signed delivery arrive and listed with its attempt."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import LiveServer, start_server, stop_server
from tests.integration.test_engine import wait_for
from tests.integration.test_webhooks import Receiver, receiving


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path, settings={"PLAINRUN_OUTBOUND_ALLOW": "127.0.0.1", "PLAINRUN_WEBHOOK_POLL_S": "0.2"}
    )
    live.env["COLUMNS"] = "250"  # the tables keep whole ids
    yield live
    stop_server(live)


def test_the_cli_subscribes_lists_and_shows_deliveries(server: LiveServer, tmp_path: Path) -> None:
    receiver = Receiver()
    agent_id = server.plainrun("agents", "create", "finance").stdout.strip()
    source = tmp_path / "greet.process"
    source.write_text('to greet\n  the output greeting is "hello"\n')
    process_id = server.plainrun("processes", "push", str(source), "--agent", agent_id, "--publish").stdout
    process_id = process_id.strip().splitlines()[-1]
    # The command line's exit codes (README): 2 bad input, 4 not found.
    refused = server.plainrun("webhooks", "create", "http://10.0.0.1/hook", "--agent", agent_id, check=False)
    assert refused.returncode == 2 and "not a public address" in refused.stderr
    with receiving(receiver) as url:
        made = server.plainrun(
            "webhooks", "create", url, "--process", process_id, "-e", "run.succeeded"
        ).stdout
        subscription_id = re.search(r"webhook (\w+)", made)[1]  # type: ignore[index]
        receiver.secret = re.search(r"secret (whsec_\S+)", made)[1]  # type: ignore[index]
        assert "run.succeeded" in made and "run.failed" not in made
        started = server.plainrun("runs", "start", process_id, "--wait", "--timeout", "60", "--json")
        run = json.loads(started.stdout)
        assert run["state"] == "Succeeded"
        wait_for(lambda: len(receiver.hits) == 1, 60, "the delivery")
        wait_for(
            lambda: "delivered" in server.plainrun("webhooks", "deliveries", subscription_id).stdout,
            30,
            "the delivery recorded",
        )
    assert receiver.hits[0].verified and json.loads(receiver.hits[0].body)["data"]["run_id"] == run["id"]
    listed = server.plainrun("webhooks", "list", agent_id).stdout
    assert (
        subscription_id in listed
        and "whsec_" not in server.plainrun("webhooks", "show", subscription_id).stdout
    )
    shown = server.plainrun("webhooks", "deliveries", subscription_id).stdout
    assert run["id"] in shown and "200" in shown
    assert "deleted" in server.plainrun("webhooks", "delete", subscription_id).stdout
    assert server.plainrun("webhooks", "show", subscription_id, check=False).returncode == 4
