"""Every call of the API, written once: what to send and how to read the answer.

:class:`~plainrun.client.Client` and :class:`~plainrun.client.AsyncClient` only send these. A call
that takes several requests (an upload, waiting for a run) is a *flow*: a generator that yields
each :class:`Call` (or a :class:`Sleep`) and receives its result, so the sync and the async client
drive the same steps.
"""

from __future__ import annotations

import mimetypes
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import TypeAdapter

from plainrun.client import errors
from plainrun.client.models import (
    Agent,
    BulkResult,
    ErrorModel,
    File,
    Learning,
    Page,
    Process,
    ProcessVersion,
    Resource,
    Run,
    RunEvent,
    Schedule,
    TestCase,
    TestRun,
    UploadTarget,
    Value,
)

T = TypeVar("T")
R = TypeVar("R", bound=Resource)
Inputs = Mapping[str, Value] | None
Stage = Literal["Draft", "Published"]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the reader of its answer."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Multipart fields and files, or raw content (uploads).
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    content: bytes | None = None
    #: Sending it twice does what sending it once does, so it may be retried.
    retry: bool = False
    #: Carries the API key (an upload URL is authorised by its own fields).
    auth: bool = True


@dataclass(frozen=True)
class Sleep:
    seconds: float


Flow = Generator["Call[Any] | Sleep", Any, T]


def _model(model: type[T]) -> Callable[[httpx.Response], T]:
    adapter = TypeAdapter(model)
    return lambda response: adapter.validate_json(response.content)


def _nothing(response: httpx.Response) -> None:
    return None


def _results(response: httpx.Response) -> list[BulkResult]:
    return _BULK.validate_json(response.content)["results"]


_BULK = TypeAdapter(dict[str, list[BulkResult]])


def _items(model: type[T]) -> Callable[[httpx.Response], list[T]]:
    adapter = TypeAdapter(Page[model])  # type: ignore[valid-type]
    return lambda response: adapter.validate_json(response.content).items or []


def error_of(response: httpx.Response) -> errors.ApiError:
    """The exception of an error response, holding its ErrorModel."""
    try:
        error = ErrorModel.model_validate_json(response.content)
    except ValueError:
        reason = response.reason_phrase or "error"
        error = ErrorModel(status_code=response.status_code, message=f"HTTP {response.status_code} {reason}")
    return errors.for_status(response.status_code)(error)


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# --- runs ------------------------------------------------------------------------------------


def start_run(
    process_id: str,
    agent_id: str,
    *,
    name: str,
    stage: Stage = "Published",
    inputs: Inputs = None,
    file_ids: Sequence[str] | None = None,
    idempotency_key: str | None = None,
) -> Call[Run]:
    body = _drop_none(
        {
            "name": name,
            "process_id": process_id,
            "agent_id": agent_id,
            "stage": stage,
            "inputs": [{"name": k, "value": v} for k, v in inputs.items()] if inputs else None,
            "file_ids": list(file_ids) if file_ids else None,
        }
    )
    key = idempotency_key or uuid.uuid4().hex
    return Call("POST", "/v2/runs", _model(Run), json=body, headers={"Idempotency-Key": key}, retry=True)


def get_run(run_id: str) -> Call[Run]:
    return Call("GET", f"/v2/runs/{run_id}", _model(Run), retry=True)


def list_runs(
    process_id: str,
    agent_id: str,
    *,
    stage: Stage | None = None,
    archived: bool = False,
    states: Sequence[str] = (),
    limit: int = 100,
    continuation_token: str | None = None,
) -> Call[Page[Run]]:
    params = _drop_none(
        {
            "process_id": process_id,
            "agent_id": agent_id,
            "stage": stage,
            "archived": "true" if archived else None,
            "state": list(states) or None,
            "limit": limit,
            "continuation_token": continuation_token,
        }
    )
    return Call("GET", "/v2/runs", _model(Page[Run]), params=params, retry=True)


def next_page(call: Call[Page[R]], page: Page[R]) -> Call[Page[R]] | None:
    """The call of the page after ``page``, or None when it was the last."""
    if not page.continuation_token:
        return None
    return replace(call, params={**(call.params or {}), "continuation_token": page.continuation_token})


def run_events(run_id: str) -> Call[list[RunEvent]]:
    return Call("GET", f"/v2/runs/{run_id}/events", _items(RunEvent), retry=True)


def cancel_run(run_id: str) -> Call[Run]:
    return Call("POST", f"/v2/runs/{run_id}/cancel", _model(Run))


def rerun_runs(run_ids: Sequence[str], *, idempotency_key: str | None = None) -> Call[list[BulkResult]]:
    key = idempotency_key or uuid.uuid4().hex
    body = {"run_ids": list(run_ids)}
    return Call("POST", "/v2/runs/rerun", _results, json=body, headers={"Idempotency-Key": key}, retry=True)


def archive_runs(run_ids: Sequence[str], archived: bool = True) -> Call[list[BulkResult]]:
    path = "/v2/runs/archive" if archived else "/v2/runs/unarchive"
    return Call("POST", path, _results, json={"run_ids": list(run_ids)}, retry=True)


def wait_for_run(run_id: str, *, timeout: float, interval: float, guidance_ends: bool) -> Flow[Run]:
    """Read the run until it ended (or, with ``guidance_ends``, waits for a person)."""
    deadline = time.monotonic() + timeout
    while True:
        run: Run = yield get_run(run_id)
        if run.ended or (guidance_ends and run.settled):
            return run
        if time.monotonic() >= deadline:
            raise errors.WaitTimedOut(run)
        yield Sleep(min(interval, max(0.0, deadline - time.monotonic())))


def answer_run(
    run_id: str,
    action: Literal["value", "retry", "skip", "stop"],
    value: Value | None = None,
    *,
    remember: bool = False,
) -> Call[Run]:
    body = _drop_none({"action": action, "value": value, "remember": remember})
    return Call("POST", f"/v2/runs/{run_id}/guidance", _model(Run), json=body)


def list_learnings(process_id: str) -> Call[list[Learning]]:
    params = {"process_id": process_id}
    return Call("GET", "/v2/learnings", _items(Learning), params=params, retry=True)


def delete_learning(learning_id: str) -> Call[None]:
    return Call("DELETE", f"/v2/learnings/{learning_id}", _nothing, retry=True)


# --- files -----------------------------------------------------------------------------------


def create_file(name: str, *, agent_id: str | None, content_type: str | None) -> Call[UploadTarget]:
    body = _drop_none({"file_name": name, "name": name, "agent_id": agent_id, "content_type": content_type})
    return Call("POST", "/v2/files", _model(UploadTarget), json=body)


def send_content(target: UploadTarget, name: str, data: bytes, content_type: str) -> Call[None]:
    """The upload itself: a multipart POST of the target's fields then ``file``, or a PUT."""
    if target.upload_http_method == "PUT":
        headers = target.upload_http_headers or {}
        return Call("PUT", target.upload_url, _nothing, headers=headers, content=data, auth=False)
    return Call(
        "POST",
        target.upload_url,
        _nothing,
        headers=target.upload_http_headers or {},
        data=target.upload_fields or {},
        files={"file": (name, data, content_type)},
        auth=False,
    )


def get_file(file_id: str) -> Call[File]:
    return Call("GET", f"/v2/files/{file_id}", _model(File), retry=True)


def download_file(file_id: str) -> Call[bytes]:
    return Call("GET", f"/v2/files/{file_id}/content", lambda r: r.content, retry=True)


def upload_file(
    source: bytes | str | Path,
    *,
    name: str | None,
    agent_id: str | None,
    content_type: str | None,
) -> Flow[File]:
    """Upload from a path or from bytes (then ``name`` is required), and read the file back."""
    if isinstance(source, bytes):
        if not name:
            raise ValueError("an upload from bytes needs a name")
        data = source
    else:
        data = Path(source).read_bytes()
        name = name or Path(source).name
    kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    target: UploadTarget = yield create_file(name, agent_id=agent_id, content_type=kind)
    yield send_content(target, name, data, kind)
    file: File = yield get_file(target.id)
    return file


def list_agents() -> Call[list[Agent]]:
    """The agents the key sees (one for an agent's key)."""
    return Call("GET", "/v2/agents", _items(Agent), retry=True)


# --- processes -------------------------------------------------------------------------------


def list_processes(agent_id: str, *, limit: int = 100) -> Call[Page[Process]]:
    params = {"agent_id": agent_id, "limit": limit}
    return Call("GET", "/v2/processes", _model(Page[Process]), params=params, retry=True)


def get_process(process_id: str) -> Call[Process]:
    return Call("GET", f"/v2/processes/{process_id}", _model(Process), retry=True)


def create_process(
    agent_id: str, source: str, *, name: str | None = None, settings: Mapping[str, Any] | None = None
) -> Call[Process]:
    body = _drop_none({"agent_id": agent_id, "source": source, "name": name, "settings": settings})
    return Call("POST", "/v2/processes", _model(Process), json=body)


def update_process(
    process_id: str,
    *,
    source: str | None = None,
    name: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Call[Process]:
    body = _drop_none({"source": source, "name": name, "settings": settings})
    return Call("PATCH", f"/v2/processes/{process_id}", _model(Process), json=body, retry=True)


def publish_process(process_id: str) -> Call[ProcessVersion]:
    return Call("POST", f"/v2/processes/{process_id}/publish", _model(ProcessVersion))


def process_versions(process_id: str) -> Call[list[ProcessVersion]]:
    return Call("GET", f"/v2/processes/{process_id}/versions", _items(ProcessVersion), retry=True)


# --- schedules -------------------------------------------------------------------------------


def create_schedule(
    process_id: str,
    agent_id: str,
    *,
    name: str,
    kind: Literal["hourly", "daily", "weekly", "every", "cron"],
    timing: Mapping[str, Any],
    timezone: str = "UTC",
    inputs: Inputs = None,
    catch_up: str = "skip",
    window_s: int | None = None,
    enabled: bool = True,
) -> Call[Schedule]:
    """``timing`` holds the fields of the kind: ``at``, ``day``, ``minute``, ``every_minutes``, ``cron``."""
    body = _drop_none(
        {
            "agent_id": agent_id,
            "process_id": process_id,
            "name": name,
            "kind": kind,
            **timing,
            "timezone": timezone,
            "inputs": dict(inputs) if inputs else None,
            "catch_up": _drop_none({"policy": catch_up, "window_s": window_s}),
            "enabled": enabled,
        }
    )
    return Call("POST", "/v2/schedules", _model(Schedule), json=body)


def list_schedules(agent_id: str, process_id: str | None = None) -> Call[list[Schedule]]:
    params = _drop_none({"agent_id": agent_id, "process_id": process_id})
    return Call("GET", "/v2/schedules", _items(Schedule), params=params, retry=True)


def get_schedule(schedule_id: str) -> Call[Schedule]:
    return Call("GET", f"/v2/schedules/{schedule_id}", _model(Schedule), retry=True)


def update_schedule(schedule_id: str, **changes: Any) -> Call[Schedule]:
    return Call("PATCH", f"/v2/schedules/{schedule_id}", _model(Schedule), json=changes, retry=True)


def delete_schedule(schedule_id: str) -> Call[None]:
    return Call("DELETE", f"/v2/schedules/{schedule_id}", _nothing, retry=True)


# --- the Test Suite --------------------------------------------------------------------------


def add_test_cases(run_ids: Sequence[str], outputs: Sequence[str] | None = None) -> Call[list[BulkResult]]:
    body = _drop_none({"run_ids": list(run_ids), "outputs": list(outputs) if outputs else None})
    return Call("POST", "/v2/test-cases", _results, json=body)


def list_test_cases(process_id: str, agent_id: str) -> Call[list[TestCase]]:
    params = {"process_id": process_id, "agent_id": agent_id}
    return Call("GET", "/v2/test-cases", _items(TestCase), params=params, retry=True)


def remove_test_case(test_case_id: str) -> Call[None]:
    return Call("DELETE", f"/v2/test-cases/{test_case_id}", _nothing, retry=True)


def start_test_run(agent_id: str, process_ids: Sequence[str], stage: Stage = "Published") -> Call[TestRun]:
    body = {"agent_id": agent_id, "process_ids": list(process_ids), "stage": stage}
    return Call("POST", "/v2/test-runs", _model(TestRun), json=body)


def get_test_run(test_run_id: str) -> Call[TestRun]:
    return Call("GET", f"/v2/test-runs/{test_run_id}", _model(TestRun), retry=True)


def stop_test_run(test_run_id: str) -> Call[TestRun]:
    return Call("POST", f"/v2/test-runs/{test_run_id}/stop", _model(TestRun), retry=True)
