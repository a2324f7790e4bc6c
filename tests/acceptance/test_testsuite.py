"""Run management and the Test Suite through the API and the CLI of a running service."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx

from tests.acceptance.conftest import LiveServer

INVOICE = """to check an invoice for approval
  the total is the amount + the tax
  if the total > LIMIT then
    the decision is "needs approval"
  else
    the decision is "approved"
  the output total is the total
  the output decision is the decision
"""


def wait_until(fetch: Any, done: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, value
        time.sleep(0.05)


def test_a_changed_output_fails_exactly_its_test_case_with_the_diff(
    live_server: LiveServer, tmp_path: Path
) -> None:
    agent_id = live_server.demo["AGENT_ID"]
    api = httpx.Client(
        base_url=f"{live_server.url}/v2", headers={"x-api-key": live_server.demo["PLAINRUN_KEY"]}
    )
    source = tmp_path / "invoice.process"
    source.write_text(INVOICE.replace("LIMIT", "10000"))
    pushed = live_server.plainrun("processes", "push", str(source), "--agent", agent_id, "--publish")
    process_id = pushed.stdout.strip().splitlines()[-1]

    def start(amount: int, tax: int) -> str:
        body = {
            "name": f"invoice {amount}",
            "process_id": process_id,
            "agent_id": agent_id,
            "stage": "Published",
            "inputs": {"amount": amount, "tax": tax},
        }
        return api.post("/runs", json=body).json()["id"]  # type: ignore[no-any-return]

    big, small = start(9500, 900), start(100, 10)
    for run_id in (big, small):
        wait_until(lambda r=run_id: api.get(f"/runs/{r}").json(), lambda run: run["status"] == "Succeeded")

    # Archive and unarchive: per-id results, the archived filter, and back in the default list.
    assert api.post("/runs/archive", json={"run_ids": [big, small]}).json()["results"] == [
        {"run_id": big, "result": "archived"},
        {"run_id": small, "result": "archived"},
    ]
    query = {"process_id": process_id, "agent_id": agent_id}
    assert api.get("/runs", params=query).json()["items"] == []
    assert {r["id"] for r in api.get("/runs", params={**query, "archived": True}).json()["items"]} == {
        big,
        small,
    }
    api.post("/runs/unarchive", json={"run_ids": [big, small]})
    assert len(api.get("/runs", params=query).json()["items"]) == 2

    added = api.post("/test-cases", json={"run_ids": [big, small, "0" * 25]}).json()["results"]
    assert [a["result"] for a in added] == ["added", "added", "not_found"]
    case_of = {a["run_id"]: a["test_case_id"] for a in added[:2]}

    def suite() -> dict[str, Any]:
        started = api.post("/test-runs", json={"agent_id": agent_id, "process_ids": [process_id]})
        assert started.status_code == 201, started.text
        test_run_id = started.json()["id"]
        return wait_until(  # type: ignore[no-any-return]
            lambda: api.get(f"/test-runs/{test_run_id}").json(), lambda t: t["state"] == "Finished"
        )

    first = suite()
    assert {r["status"] for r in first["results"]} == {"Passed"} and first["summary"] == {"Passed": 2}

    # Raise the approval limit: the big invoice's decision changes, its total does not.
    source.write_text(INVOICE.replace("LIMIT", "20000"))
    live_server.plainrun(
        "processes", "push", str(source), "--agent", agent_id, "--id", process_id, "--publish"
    )
    second = suite()
    by_case = {r["test_case_id"]: r for r in second["results"]}
    assert by_case[case_of[small]]["status"] == "Passed"
    assert by_case[case_of[big]]["status"] == "Failed"
    assert by_case[case_of[big]]["diff"] == [
        {"problem": "Output Mismatch", "name": "decision", "expected": "needs approval", "actual": "approved"}
    ]
    history = api.get("/test-runs", params={"agent_id": agent_id}).json()["items"]
    assert [t["id"] for t in history[:2]] == [second["id"], first["id"]]
    unknown = api.get("/test-runs", params={"agent_id": "0" * 25})
    assert unknown.status_code == 404 and unknown.json()["message"] == "The agent was not found."

    # The CLI gates CI: exit 1, the mismatch named, JUnit XML with exactly one failure.
    report = tmp_path / "junit.xml"
    cli = live_server.plainrun("test", process_id, "--junit", str(report), check=False)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "Output Mismatch" in cli.stdout and "1 passed, 1 failed" in cli.stdout
    suite_xml = ET.parse(report).getroot()
    assert (suite_xml.get("tests"), suite_xml.get("failures")) == ("2", "1")

    # Re-run: the same inputs at the current version, linked to the original.
    rerun = api.post("/runs/rerun", json={"run_ids": [big]}).json()["results"][0]
    new = wait_until(
        lambda: api.get(f"/runs/{rerun['new_run_id']}").json(), lambda r: r["status"] == "Succeeded"
    )
    assert new["rerun_of"] == big and new["version"] == 2 and new["trigger"] == "rerun"
    assert new["inputs"] == api.get(f"/runs/{big}").json()["inputs"]
    assert {"name": "decision", "value": "approved"} in new["outputs"]

    # Removing a test case takes it out of the next suite.
    assert api.delete(f"/test-cases/{case_of[big]}").status_code == 204
    assert [c["id"] for c in api.get("/test-cases", params=query).json()["items"]] == [case_of[small]]
    assert live_server.plainrun("test", process_id, check=False).returncode == 0
    api.close()
