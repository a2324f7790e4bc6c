"""Execution: the worker's moves through the service, and what one attempt of a run needs."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import orjson
import pytest

from plainrun.domain import ids
from plainrun.domain.agents import Agent
from plainrun.domain.clock import utcnow
from plainrun.domain.outbound import OutboundPolicy
from plainrun.domain.runs import Outcome, Run, RunState, Stage, Trigger
from plainrun.services import execution
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services
from plainrun.services.execution import child_run
from plainrun.services.runs import RunRequest
from plainrun.store.blobs import BlobPlace
from tests.unit.services.conftest import SOURCE, new_process


@pytest.fixture
def acme(services: Services) -> Agent:
    return services.agents.create(SYSTEM, "acme")


def start(services: Services, process_id: str, agent: Agent, **kw: Any) -> Run:
    request = RunRequest(agent_id=agent.id, process_id=process_id, stage=Stage.DRAFT, name="invoice", **kw)
    return services.runs.start(SYSTEM, request)


def test_a_payload_carries_everything_one_attempt_needs_as_json(services: Services, acme: Agent) -> None:
    process = new_process(services, acme, settings={"on_exception": "fail"})
    put = services.files.put
    first = put(SYSTEM, agent_id=acme.id, name="a.csv", content_type="text/csv", data=b"abc")
    second = put(SYSTEM, agent_id=acme.id, name="b.pdf", content_type="application/pdf", data=b"%PDF")
    run = start(
        services, process.id, acme, inputs={"amount": 5}, file_ids=[second.id, first.id], on_exception="pause"
    )
    settings = services.settings
    payload = services.execution.payload(run)
    assert payload == {
        "run": {
            "id": run.id,
            "agent_id": acme.id,
            "process_id": process.id,
            "stage": "Draft",
            "version": 1,
            "name": "invoice",
            "attempt": 0,
            "inputs": [{"name": "amount", "value": 5}],
        },
        "defaults": {"timeout_s": settings.run_timeout_s, "max_attempts": settings.max_attempts},
        "sha256": process.draft_sha256,
        "source": SOURCE,
        "files": [
            {"id": second.id, "name": "b.pdf", "size": 4, "content_type": "application/pdf"},
            {"id": first.id, "name": "a.csv", "size": 3, "content_type": "text/csv"},
        ],
        "exec_state": {"options": {"on_exception": "pause"}},  # the run's own choice, for the executor
        "on_exception": "fail",  # the process's setting
        "blobs": services.execution.blobs.as_json(),  # where the executor reads and writes files
        "store": {"url": settings.database_url, "fast": settings.fast, "synchronous": "NORMAL"},
        "smtp": {
            "host": settings.smtp_host,
            "port": settings.smtp_port,
            "sender": settings.smtp_sender,
            "hops": 0,
        },
        "email": None,
        "outbound": OutboundPolicy.from_settings(settings).to_json(),  # what the HTTP book may reach
        # the bytes of files the attempt may write, and its agent's quota
        "file_bounds": {
            "attempt_bytes": settings.max_run_file_bytes,
            "agent_quota_bytes": settings.agent_quota_bytes,
        },
    }
    assert orjson.loads(orjson.dumps(payload)) == payload
    assert BlobPlace.from_json(payload["blobs"]) == services.execution.blobs


def test_a_process_without_the_setting_pauses_on_exception(services: Services, acme: Agent) -> None:
    process = services.store.processes.create(agent_id=acme.id, name="bare", source=SOURCE, settings={})
    assert services.execution.payload(start(services, process.id, acme))["on_exception"] == "pause"


def test_an_e_mail_runs_payload_has_the_messages_facts(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    [address] = [a for a in services.mail.settings(SYSTEM, process.id).addresses if a.stage is Stage.DRAFT]
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "ap@acme.example", "Invoice A-17", "<m1@acme.example>"
    msg.set_content("Please pay.")
    [run_id] = services.mail.receive(msg.as_bytes(), "ap@acme.example", [address.address])
    run = services.runs.get(SYSTEM, run_id)
    services.execution.payload(run)
    assert not services.execution.payload_is_cached(run)  # its facts are always read
    email = services.execution.payload(run)["email"]
    assert email is not None and (email["subject"], email["sender"], email["body"]) == (
        "Invoice A-17",
        "ap@acme.example",
        "Please pay.\n",
    )
    assert email["message id"] == run.trigger_ref == "<m1@acme.example>"


def test_a_payload_is_cached_once_its_source_and_settings_were_read_for_a_plain_run(
    services: Services, acme: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution, "SETTINGS_TTL_S", 1.0)
    process = new_process(services, acme)
    first, second = start(services, process.id, acme), start(services, process.id, acme)
    assert not services.execution.payload_is_cached(first)
    services.execution.payload(first)
    services.processes.update_draft(SYSTEM, process.id, settings={"on_exception": "fail"})
    assert services.execution.payload_is_cached(first) and services.execution.payload_is_cached(second)
    assert services.execution.payload(second)["on_exception"] == "pause"  # remembered for a while
    time.sleep(1.05)
    assert not services.execution.payload_is_cached(first)
    assert services.execution.payload(first)["on_exception"] == "fail"
    assert services.execution.payload_is_cached(second)
    file = services.files.put(SYSTEM, agent_id=acme.id, name="a.csv", content_type="text/csv", data=b"a")
    assert not services.execution.payload_is_cached(start(services, process.id, acme, file_ids=[file.id]))
    services.processes.update_draft(SYSTEM, process.id, source="to go\n  say 2\n")
    assert not services.execution.payload_is_cached(start(services, process.id, acme))  # another source


def test_the_workers_moves_are_fenced_by_lease_and_attempt(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    run = start(services, process.id, acme)
    [claimed] = asyncio.run(services.execution.claim("w1", limit=10, lease_s=30))
    assert (claimed.id, claimed.state, claimed.attempt, claimed.lease_owner) == (
        run.id,
        RunState.RUNNING,
        1,
        "w1",
    )
    assert services.execution.heartbeat("w2", [run.id], lease_s=30) == {}  # not its lease
    services.runs.cancel(SYSTEM, run.id)  # running: its worker is asked
    assert services.execution.heartbeat("w1", [run.id], lease_s=30) == {run.id: True}
    assert services.execution.hand_back("w1", [run.id]) == [run.id]
    [again] = asyncio.run(services.execution.claim("w2", limit=10, lease_s=30))
    assert services.execution.recover(now=utcnow() + timedelta(seconds=31)) == [(run.id, RunState.PENDING)]
    [third] = asyncio.run(services.execution.claim("w3", limit=10, lease_s=30))
    stale = Outcome(run.id, again.attempt, RunState.SUCCEEDED, outputs=[])
    current = Outcome(run.id, third.attempt, RunState.CANCELLED, error={"message": "cancelled"})
    assert asyncio.run(services.execution.finish([stale, current])) == [False, True]
    ended = services.runs.get(SYSTEM, run.id)
    assert ended.state is RunState.CANCELLED and ended.lease_owner is None
    assert services.execution.reachable()


def test_a_child_run_is_a_subprocess_run_of_its_parent(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    parent = start(services, process.id, acme)
    [claimed] = asyncio.run(services.execution.claim("w", limit=1, lease_s=30))
    child = child_run(
        {
            "id": ids.new_id(),
            "agent_id": acme.id,
            "process_id": process.id,
            "name": "child",
            "stage": "Draft",
            "version": 1,
            "sha256": parent.sha256,
            "inputs": [{"name": "amount", "value": 1}],
            "file_ids": [],
            "trigger_ref": parent.id,
            "parent_run_id": parent.id,
            "max_attempts": 2,
            "timeout_s": 5.0,
            "exec_state": None,
        }
    )
    assert (child.trigger, child.stage, child.parent_run_id) == (Trigger.SUBPROCESS, Stage.DRAFT, parent.id)
    parked = Outcome(parent.id, claimed.attempt, RunState.WAITING, children=[child])
    assert asyncio.run(services.execution.finish([parked])) == [True]
    [made] = services.runs.children(SYSTEM, parent.id)
    assert (made.id, made.state, made.trigger, made.inputs) == (
        child.id,
        RunState.PENDING,
        Trigger.SUBPROCESS,
        child.inputs,
    )
