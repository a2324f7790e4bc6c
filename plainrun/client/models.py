"""Typed results: the API's resources as pydantic models.

Every model keeps the fields it does not name (``extra="allow"``), and :meth:`Resource.wire` gives
back exactly the JSON the service sent, so a resource read here can be written out unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from plainrun.domain.runs import FINAL_STATES, RunState, RunStatus, Stage


def _ts(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


#: A UTC time, written back as the service writes it.
Timestamp = Annotated[datetime, PlainSerializer(_ts, return_type=str)]
Value = str | int | float


class Resource(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The resource as the service sent it (the fields it had, none added)."""
        return self.model_dump(mode="json", exclude_unset=True)


class ErrorDetail(Resource):
    name: str
    value: Value


class ErrorModel(Resource):
    """The body of every error response."""

    status_code: int
    message: str
    details: list[ErrorDetail] | None = None


class RunOutput(Resource):
    name: str
    value: Value


class Run(Resource):
    """A run: the spec's RunResource, plus plainrun's extra fields when the service sends them."""

    id: str
    name: str
    agent_id: str
    process_id: str
    stage: Stage
    status: RunStatus
    created_at: Timestamp
    file_ids: list[str] | None = None
    outputs: list[RunOutput] | None = None
    state: RunState | None = None
    version: int | None = None
    inputs: Any = None
    trigger: str | None = None
    archived: bool | None = None
    error: dict[str, Any] | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    rerun_of: str | None = None
    parent_run_id: str | None = None

    @property
    def waiting_for_guidance(self) -> bool:
        """It stopped on a question for a person (``error`` holds the question and its choices)."""
        return self.state is RunState.AWAITING_GUIDANCE

    @property
    def ended(self) -> bool:
        """It reached a final state: nothing will change it any more."""
        if self.state is not None:
            return self.state in FINAL_STATES
        return self.status in (RunStatus.SUCCEEDED, RunStatus.STOPPED)

    @property
    def settled(self) -> bool:
        """It ended, or it waits for a person: nothing changes it until someone acts."""
        return self.ended or self.waiting_for_guidance or (self.state is None and self.status == "Exception")

    def output(self, name: str) -> Value | None:
        """The value of the output ``name``, or None."""
        return next((o.value for o in self.outputs or [] if o.name == name), None)


class RunEvent(Resource):
    """One entry of a run's timeline: a state change (``kind`` "state") or a log line ("log")."""

    id: int | str
    at: Timestamp
    kind: str
    from_state: RunState | None = None
    to_state: RunState | None = None
    attempt: int | None = None
    data: dict[str, Any] | None = None


class BulkResult(Resource):
    """What a bulk action did to one run: ``result`` is e.g. "archived", "started", "not_found"."""

    run_id: str
    result: str
    new_run_id: str | None = None
    test_case_id: str | None = None


class Agent(Resource):
    id: str
    name: str
    created_at: Timestamp


class Process(Resource):
    id: str
    agent_id: str
    name: str
    description: str = ""
    draft_revision: int
    published_version: int | None = None
    stages: list[Stage] = []
    settings: dict[str, Any] = {}
    created_at: Timestamp
    updated_at: Timestamp
    source: str | None = None
    inputs: list[str] | None = None


class ProcessVersion(Resource):
    process_id: str
    version: int
    created_at: Timestamp
    source: str | None = None
    #: After a publish: false when the draft equalled the latest version (no new one was made).
    created: bool | None = None


class File(Resource):
    id: str
    agent_id: str | None = None
    name: str | None = None
    file_name: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    uploaded: bool | None = None
    created_at: Timestamp | None = None


class UploadTarget(File):
    """A file made by ``POST /v2/files`` and where to send its content."""

    upload_url: str
    upload_http_method: Literal["POST", "PUT"] = "POST"
    upload_http_headers: dict[str, str] | None = None
    upload_fields: dict[str, str] | None = None


class CatchUp(Resource):
    policy: Literal["skip", "latest", "all_within"] = "skip"
    window_s: int | None = None


class Schedule(Resource):
    """A schedule; its timing fields (``at``, ``day``, ``minute``, ``every_minutes``, ``cron``)
    are those of its ``kind``."""

    id: str
    agent_id: str
    process_id: str
    name: str
    kind: Literal["hourly", "daily", "weekly", "every", "cron"]
    at: str | None = None
    day: str | None = None
    minute: int | None = None
    every_minutes: int | None = None
    cron: str | None = None
    timezone: str
    inputs: Any = None
    catch_up: CatchUp
    enabled: bool
    next_fire_times: list[Timestamp] = []
    created_at: Timestamp
    updated_at: Timestamp


class Learning(Resource):
    """A remembered answer: given by itself to the same question on the same line."""

    id: str
    agent_id: str
    process_id: str
    line: int
    question: str
    action: str
    value: Value | None = None
    created_at: Timestamp


class TestCase(Resource):
    __test__ = False  # not a pytest class

    id: str
    agent_id: str
    process_id: str
    name: str
    inputs: list[dict[str, Any]]
    file_ids: list[str] | None = None
    expected: list[dict[str, Any]]
    source_run_id: str | None = None
    created_at: Timestamp


class TestResult(Resource):
    __test__ = False

    test_case_id: str
    process_id: str
    name: str
    run_id: str | None = None
    status: str
    diff: list[dict[str, Any]] | None = None


class TestRun(Resource):
    """A run of the Test Suite; ``results`` and ``summary`` when one test run is read."""

    __test__ = False

    id: str
    agent_id: str
    stage: Stage
    process_ids: list[str]
    state: str
    created_at: Timestamp
    finished_at: Timestamp | None = None
    summary: dict[str, int] | None = None
    results: list[TestResult] | None = None

    @property
    def finished(self) -> bool:
        return self.state != "Running"


Item = TypeVar("Item", bound=Resource)


class Page(BaseModel, Generic[Item]):
    """One page of a list; ``continuation_token`` asks for the next (None: this is the last)."""

    items: list[Item] | None = None
    continuation_token: str | None = None
