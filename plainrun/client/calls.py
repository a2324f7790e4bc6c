"""Every call of the API, written once: its arguments, what to send and how to read the answer.

A call is a frozen dataclass (:class:`GetRun`, :class:`StartRun`, …) whose fields are the arguments
of the client's method of the same name (:mod:`plainrun.client.methods` lists them); its
:meth:`~Call.request` is the HTTP request and the reader of the answer. A call that takes several
requests (an upload, waiting for a run) is a *flow*: its :meth:`~Call.steps` yields each call (or a
:class:`Sleep`) and receives its result. A :class:`Listing` is read a page at a time.

The clients only drive calls: :class:`~plainrun.client.Client` and
:class:`~plainrun.client.AsyncClient` over HTTP, the command line's ``LocalBackend`` over the
services of a database.
"""

from __future__ import annotations

import mimetypes
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, Literal

from plainrun.client import errors
from plainrun.client.models import (
    Agent,
    BulkResult,
    File,
    Learning,
    Page,
    Process,
    ProcessVersion,
    Run,
    RunEvent,
    Schedule,
    TestCase,
    TestRun,
    UploadTarget,
    Value,
)
from plainrun.client.wire import Call, Listing, Request, Sleep, Steps, items, model, nothing, results

Inputs = Mapping[str, Value] | None
Stage = Literal["Draft", "Published"]
Action = Literal["value", "retry", "skip", "stop"]
Kind = Literal["hourly", "daily", "weekly", "every", "cron"]


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _key(given: str | None) -> dict[str, str]:
    return {"Idempotency-Key": given or uuid.uuid4().hex}


# --- runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRun(Call[Run]):
    """Start a run; a retry carries the same ``Idempotency-Key`` (made here unless given)."""

    process_id: str
    agent_id: str
    _: KW_ONLY
    name: str
    stage: Stage = "Published"
    inputs: Inputs = None
    file_ids: Sequence[str] | None = None
    idempotency_key: str | None = None

    def request(self) -> Request[Run]:
        body = _drop_none(
            {
                "name": self.name,
                "process_id": self.process_id,
                "agent_id": self.agent_id,
                "stage": self.stage,
                "inputs": [{"name": k, "value": v} for k, v in self.inputs.items()] if self.inputs else None,
                "file_ids": list(self.file_ids) if self.file_ids else None,
            }
        )
        return Request(
            "POST", "/v2/runs", model(Run), json=body, headers=_key(self.idempotency_key), retry=True
        )


@dataclass(frozen=True)
class GetRun(Call[Run]):
    run_id: str

    def request(self) -> Request[Run]:
        return Request("GET", f"/v2/runs/{self.run_id}", model(Run), retry=True)


@dataclass(frozen=True)
class ListRuns(Listing[Run]):
    """Every run of a process, newest first (the pages are read as the iterator goes)."""

    process_id: str
    agent_id: str
    _: KW_ONLY
    stage: Stage | None = None
    archived: bool = False
    states: Sequence[str] = ()
    page_size: int = 100

    def request(self) -> Request[Page[Run]]:
        params = _drop_none(
            {
                "process_id": self.process_id,
                "agent_id": self.agent_id,
                "stage": self.stage,
                "archived": "true" if self.archived else None,
                "state": list(self.states) or None,
                "limit": self.page_size,
                "continuation_token": self.continuation_token,
            }
        )
        return Request("GET", "/v2/runs", model(Page[Run]), params=params, retry=True)


@dataclass(frozen=True)
class WaitForRun(Call[Run]):
    """The run once it ended or (with ``guidance_ends``) waits for a person; WaitTimedOut after
    ``timeout`` seconds."""

    run_id: str
    _: KW_ONLY
    timeout: float = 600.0
    interval: float = 0.5
    guidance_ends: bool = True

    def steps(self) -> Steps[Run]:
        deadline = time.monotonic() + self.timeout
        while True:
            run: Run = yield GetRun(self.run_id)
            if run.ended or (self.guidance_ends and run.settled):
                return run
            if time.monotonic() >= deadline:
                raise errors.WaitTimedOut(run)
            yield Sleep(min(self.interval, max(0.0, deadline - time.monotonic())))


@dataclass(frozen=True)
class RunEvents(Call[list[RunEvent]]):
    run_id: str

    def request(self) -> Request[list[RunEvent]]:
        return Request("GET", f"/v2/runs/{self.run_id}/events", items(RunEvent), retry=True)


@dataclass(frozen=True)
class CancelRun(Call[Run]):
    run_id: str

    def request(self) -> Request[Run]:
        return Request("POST", f"/v2/runs/{self.run_id}/cancel", model(Run))


@dataclass(frozen=True)
class RerunRuns(Call[list[BulkResult]]):
    """Run again with the same inputs, files and stage, at the current version."""

    run_ids: Sequence[str]
    _: KW_ONLY
    idempotency_key: str | None = None

    def request(self) -> Request[list[BulkResult]]:
        body = {"run_ids": list(self.run_ids)}
        return Request(
            "POST", "/v2/runs/rerun", results, json=body, headers=_key(self.idempotency_key), retry=True
        )


@dataclass(frozen=True)
class ArchiveRuns(Call[list[BulkResult]]):
    run_ids: Sequence[str]

    def request(self) -> Request[list[BulkResult]]:
        return Request("POST", "/v2/runs/archive", results, json={"run_ids": list(self.run_ids)}, retry=True)


@dataclass(frozen=True)
class UnarchiveRuns(Call[list[BulkResult]]):
    run_ids: Sequence[str]

    def request(self) -> Request[list[BulkResult]]:
        return Request(
            "POST", "/v2/runs/unarchive", results, json={"run_ids": list(self.run_ids)}, retry=True
        )


# --- guidance --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRun(Call[Run]):
    """Answer the question a run waits on."""

    run_id: str
    action: Action
    value: Value | None = None
    _: KW_ONLY
    remember: bool = False

    def request(self) -> Request[Run]:
        body = _drop_none({"action": self.action, "value": self.value, "remember": self.remember})
        return Request("POST", f"/v2/runs/{self.run_id}/guidance", model(Run), json=body)


@dataclass(frozen=True)
class ListLearnings(Call[list[Learning]]):
    process_id: str

    def request(self) -> Request[list[Learning]]:
        params = {"process_id": self.process_id}
        return Request("GET", "/v2/learnings", items(Learning), params=params, retry=True)


@dataclass(frozen=True)
class DeleteLearning(Call[None]):
    learning_id: str

    def request(self) -> Request[None]:
        return Request("DELETE", f"/v2/learnings/{self.learning_id}", nothing, retry=True)


# --- files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateFile(Call[UploadTarget]):
    name: str
    _: KW_ONLY
    agent_id: str | None = None
    content_type: str | None = None

    def request(self) -> Request[UploadTarget]:
        body = {"file_name": self.name, "name": self.name, "agent_id": self.agent_id}
        body = _drop_none({**body, "content_type": self.content_type})
        return Request("POST", "/v2/files", model(UploadTarget), json=body)


@dataclass(frozen=True)
class SendContent(Call[None]):
    """The upload itself: a multipart POST of the target's fields then ``file``, or a PUT."""

    target: UploadTarget
    name: str
    data: bytes
    content_type: str

    def request(self) -> Request[None]:
        target, headers = self.target, self.target.upload_http_headers or {}
        if target.upload_http_method == "PUT":
            return Request("PUT", target.upload_url, nothing, headers=headers, content=self.data, auth=False)
        fields = target.upload_fields or {}
        files = {"file": (self.name, self.data, self.content_type)}
        return Request(
            "POST", target.upload_url, nothing, headers=headers, data=fields, files=files, auth=False
        )


@dataclass(frozen=True)
class UploadFile(Call[File]):
    """Upload a file from a path or from bytes (give its ``name``); its id goes in ``file_ids``."""

    source: bytes | str | Path
    _: KW_ONLY
    name: str | None = None
    agent_id: str | None = None
    content_type: str | None = None

    def contents(self) -> tuple[str, bytes, str]:
        """The file's name, bytes and content type."""
        if isinstance(self.source, bytes):
            if not self.name:
                raise ValueError("an upload from bytes needs a name")
            name, data = self.name, self.source
        else:
            name, data = self.name or Path(self.source).name, Path(self.source).read_bytes()
        return name, data, self.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"

    def steps(self) -> Steps[File]:
        name, data, kind = self.contents()
        target: UploadTarget = yield CreateFile(name, agent_id=self.agent_id, content_type=kind)
        yield SendContent(target, name, data, kind)
        file: File = yield GetFile(target.id)
        return file


@dataclass(frozen=True)
class GetFile(Call[File]):
    file_id: str

    def request(self) -> Request[File]:
        return Request("GET", f"/v2/files/{self.file_id}", model(File), retry=True)


@dataclass(frozen=True)
class DownloadFile(Call[bytes]):
    file_id: str

    def request(self) -> Request[bytes]:
        return Request("GET", f"/v2/files/{self.file_id}/content", lambda r: r.content, retry=True)


@dataclass(frozen=True)
class ListAgents(Call[list[Agent]]):
    """The agents the key sees (one for an agent's key)."""

    def request(self) -> Request[list[Agent]]:
        return Request("GET", "/v2/agents", items(Agent), retry=True)


# --- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListProcesses(Listing[Process]):
    """The agent's processes, newest first (the pages are read as the iterator goes)."""

    agent_id: str
    _: KW_ONLY
    page_size: int = 100

    def request(self) -> Request[Page[Process]]:
        params = _drop_none(
            {
                "agent_id": self.agent_id,
                "limit": self.page_size,
                "continuation_token": self.continuation_token,
            }
        )
        return Request("GET", "/v2/processes", model(Page[Process]), params=params, retry=True)


@dataclass(frozen=True)
class GetProcess(Call[Process]):
    process_id: str

    def request(self) -> Request[Process]:
        return Request("GET", f"/v2/processes/{self.process_id}", model(Process), retry=True)


@dataclass(frozen=True)
class CreateProcess(Call[Process]):
    agent_id: str
    source: str
    _: KW_ONLY
    name: str | None = None
    settings: Mapping[str, Any] | None = None

    def request(self) -> Request[Process]:
        body = {
            "agent_id": self.agent_id,
            "source": self.source,
            "name": self.name,
            "settings": self.settings,
        }
        return Request("POST", "/v2/processes", model(Process), json=_drop_none(body))


@dataclass(frozen=True)
class UpdateProcess(Call[Process]):
    """Edit the draft: its source, name or settings."""

    process_id: str
    _: KW_ONLY
    source: str | None = None
    name: str | None = None
    settings: Mapping[str, Any] | None = None

    def request(self) -> Request[Process]:
        body = _drop_none({"source": self.source, "name": self.name, "settings": self.settings})
        return Request("PATCH", f"/v2/processes/{self.process_id}", model(Process), json=body, retry=True)


@dataclass(frozen=True)
class PublishProcess(Call[ProcessVersion]):
    process_id: str

    def request(self) -> Request[ProcessVersion]:
        return Request("POST", f"/v2/processes/{self.process_id}/publish", model(ProcessVersion))


@dataclass(frozen=True)
class ProcessVersions(Call[list[ProcessVersion]]):
    process_id: str

    def request(self) -> Request[list[ProcessVersion]]:
        path = f"/v2/processes/{self.process_id}/versions"
        return Request("GET", path, items(ProcessVersion), retry=True)


# --- schedules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateSchedule(Call[Schedule]):
    """Schedule a published process; ``timing`` holds the fields of the kind (``at``, ``day``,
    ``minute``, ``every_minutes``, ``cron``): e.g. ``{"cron": "0 9 * * 1-5"}``, ``{"at": "07:30"}``."""

    process_id: str
    agent_id: str
    _: KW_ONLY
    name: str
    kind: Kind
    timing: Mapping[str, Any]
    timezone: str = "UTC"
    inputs: Inputs = None
    catch_up: str = "skip"
    window_s: int | None = None
    enabled: bool = True

    def request(self) -> Request[Schedule]:
        body = _drop_none(
            {
                "agent_id": self.agent_id,
                "process_id": self.process_id,
                "name": self.name,
                "kind": self.kind,
                **self.timing,
                "timezone": self.timezone,
                "inputs": dict(self.inputs) if self.inputs else None,
                "catch_up": _drop_none({"policy": self.catch_up, "window_s": self.window_s}),
                "enabled": self.enabled,
            }
        )
        return Request("POST", "/v2/schedules", model(Schedule), json=body)


@dataclass(frozen=True)
class ListSchedules(Call[list[Schedule]]):
    agent_id: str
    process_id: str | None = None

    def request(self) -> Request[list[Schedule]]:
        params = _drop_none({"agent_id": self.agent_id, "process_id": self.process_id})
        return Request("GET", "/v2/schedules", items(Schedule), params=params, retry=True)


@dataclass(frozen=True)
class GetSchedule(Call[Schedule]):
    schedule_id: str

    def request(self) -> Request[Schedule]:
        return Request("GET", f"/v2/schedules/{self.schedule_id}", model(Schedule), retry=True)


class UpdateSchedule(Call[Schedule]):
    """Change fields of a schedule: ``enabled=False``, ``timezone="Europe/Berlin"``, …"""

    def __init__(self, schedule_id: str, **changes: Any):
        self.schedule_id = schedule_id
        self.changes = changes

    def request(self) -> Request[Schedule]:
        path = f"/v2/schedules/{self.schedule_id}"
        return Request("PATCH", path, model(Schedule), json=self.changes, retry=True)


@dataclass(frozen=True)
class DeleteSchedule(Call[None]):
    schedule_id: str

    def request(self) -> Request[None]:
        return Request("DELETE", f"/v2/schedules/{self.schedule_id}", nothing, retry=True)


# --- the Test Suite --------------------------------------------------------------------------


@dataclass(frozen=True)
class AddTestCases(Call[list[BulkResult]]):
    """Test cases from succeeded runs; ``outputs``: which outputs count (all unless given)."""

    run_ids: Sequence[str]
    outputs: Sequence[str] | None = None

    def request(self) -> Request[list[BulkResult]]:
        body = _drop_none(
            {"run_ids": list(self.run_ids), "outputs": list(self.outputs) if self.outputs else None}
        )
        return Request("POST", "/v2/test-cases", results, json=body)


@dataclass(frozen=True)
class ListTestCases(Call[list[TestCase]]):
    process_id: str
    agent_id: str

    def request(self) -> Request[list[TestCase]]:
        params = {"process_id": self.process_id, "agent_id": self.agent_id}
        return Request("GET", "/v2/test-cases", items(TestCase), params=params, retry=True)


@dataclass(frozen=True)
class RemoveTestCase(Call[None]):
    test_case_id: str

    def request(self) -> Request[None]:
        return Request("DELETE", f"/v2/test-cases/{self.test_case_id}", nothing, retry=True)


@dataclass(frozen=True)
class StartTestRun(Call[TestRun]):
    agent_id: str
    process_ids: Sequence[str]
    stage: Stage = "Published"

    def request(self) -> Request[TestRun]:
        body = {"agent_id": self.agent_id, "process_ids": list(self.process_ids), "stage": self.stage}
        return Request("POST", "/v2/test-runs", model(TestRun), json=body)


@dataclass(frozen=True)
class GetTestRun(Call[TestRun]):
    test_run_id: str

    def request(self) -> Request[TestRun]:
        return Request("GET", f"/v2/test-runs/{self.test_run_id}", model(TestRun), retry=True)


@dataclass(frozen=True)
class StopTestRun(Call[TestRun]):
    test_run_id: str

    def request(self) -> Request[TestRun]:
        return Request("POST", f"/v2/test-runs/{self.test_run_id}/stop", model(TestRun), retry=True)
