"""What the store returns: plain, immutable records (no ORM objects cross the store's edge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plainrun.domain.runs import RunState, Stage, Trigger


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    agent_id: str | None
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Process:
    id: str
    agent_id: str
    name: str
    description: str
    draft_sha256: str
    draft_revision: int
    published_version: int | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    #: At most this many runs Running at once (``settings["max_concurrency"]``); None: no limit.
    max_concurrent_runs: int | None = None


@dataclass(frozen=True, slots=True)
class ProcessVersion:
    process_id: str
    version: int
    sha256: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: str
    agent_id: str
    name: str
    content_type: str
    size: int | None
    sha256: str | None
    ready: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewRun:
    """Everything a service decides about a run before it exists."""

    id: str
    agent_id: str
    process_id: str
    name: str
    stage: Stage
    version: int
    sha256: str
    inputs: list[dict[str, Any]]
    file_ids: list[str]
    trigger: Trigger
    max_attempts: int
    timeout_s: float
    created_at: datetime
    trigger_ref: str | None = None
    rerun_of: str | None = None
    parent_run_id: str | None = None
    #: What the first attempt starts from: ``{"options": {"on_exception": "fail"}}`` for a run that
    #: fails fast, or a whole saved execution (a child run); None for a plain start.
    exec_state: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    agent_id: str
    process_id: str
    name: str
    stage: Stage
    version: int
    sha256: str
    state: RunState
    inputs: list[dict[str, Any]]
    file_ids: list[str]
    outputs: list[dict[str, Any]] | None
    error: dict[str, Any] | None
    trigger: Trigger
    trigger_ref: str | None
    rerun_of: str | None
    parent_run_id: str | None
    archived: bool
    attempt: int
    max_attempts: int
    timeout_s: float
    lease_owner: str | None
    lease_expires_at: datetime | None
    cancel_requested: bool
    exec_state: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class RunEvent:
    id: int
    run_id: str
    at: datetime
    kind: str
    from_state: RunState | None
    to_state: RunState | None
    attempt: int
    data: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt of a run ended, as the worker reports it."""

    run_id: str
    attempt: int
    to_state: RunState
    outputs: list[dict[str, Any]] | None = None
    error: dict[str, Any] | None = None
    exec_state: dict[str, Any] | None = None
    event_data: dict[str, Any] | None = None
    #: Log lines (``{"text": …, "line": …}``) recorded as events before the state change.
    log: list[dict[str, Any]] = field(default_factory=list)
    #: Child runs the attempt started (rows made by ``pending_row``), created with the outcome.
    children: list[dict[str, Any]] = field(default_factory=list)
    #: The run's parent, to wake when this outcome ends the run.
    parent_run_id: str | None = None
