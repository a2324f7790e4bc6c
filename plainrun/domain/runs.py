"""Runs: their states, the moves between them, and the one builder of run rows and their events.

A run's life is a state machine. Each way its state may change is a :class:`Move`: from which
states, to which, the event it records, and whether the attempt it ends counts against the run's
attempts. The store writes a move only where the run is in one of the move's source states (its
``WHERE`` is derived from the move), so two movers never both win; ``TRANSITIONS`` and the API's
``status`` are derived from the same table::

    created ──▶ Pending ──claim──▶ Running ──finish──▶ Succeeded | Failed | Cancelled | TimedOut
                  ▲  ▲                │  │                 (final)
                  │  └──hand_back─────┘  ├──finish──▶ AwaitingGuidance ──resume──▶ Pending
                  │  └──recover───────┘  │                              ──stop────▶ Failed
                  │                      └──finish──▶ Waiting ──wake──▶ Pending
                  └─ cancel: Pending, Waiting, AwaitingGuidance ──▶ Cancelled
                     (a Running run is asked to cancel; its worker's outcome ends it)

Rows and events are plain dictionaries in the store's column names, built here only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from plainrun.domain.bounds import fit_name, fit_outputs, fits


class RunState(enum.StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    AWAITING_GUIDANCE = "AwaitingGuidance"
    #: Parked until its child runs end; holds no worker slot. The API reports it as Running.
    WAITING = "Waiting"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    TIMED_OUT = "TimedOut"

    @property
    def status(self) -> RunStatus:
        return _STATUS[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


class RunStatus(enum.StrEnum):
    """The coarser status of the REST API v2 (``RunStatus`` in the spec)."""

    CREATED = "Created"
    RUNNING = "Running"
    EXCEPTION = "Exception"
    STOPPED = "Stopped"
    SUCCEEDED = "Succeeded"


class Stage(enum.StrEnum):
    DRAFT = "Draft"
    PUBLISHED = "Published"


class Trigger(enum.StrEnum):
    MANUAL = "manual"
    API = "api"
    EMAIL = "email"
    SCHEDULE = "schedule"
    RERUN = "rerun"
    TEST = "test"
    SUBPROCESS = "subprocess"


_STATUS = {
    RunState.PENDING: RunStatus.CREATED,
    RunState.RUNNING: RunStatus.RUNNING,
    RunState.AWAITING_GUIDANCE: RunStatus.EXCEPTION,
    RunState.WAITING: RunStatus.RUNNING,
    RunState.FAILED: RunStatus.EXCEPTION,
    RunState.CANCELLED: RunStatus.STOPPED,
    RunState.TIMED_OUT: RunStatus.STOPPED,
    RunState.SUCCEEDED: RunStatus.SUCCEEDED,
}

#: A run starts at most this many child runs in all.
MAX_CHILDREN = 50

FINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT})


def states_with_status(status: RunStatus) -> list[RunState]:
    return [state for state, s in _STATUS.items() if s is status]


# --- the moves -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One way a run's state changes."""

    name: str
    sources: frozenset[RunState]
    targets: frozenset[RunState]
    #: The kind of the event the move records.
    event: str
    #: The attempt it ends is not counted against the run's attempts (the run gets one more).
    refund: bool = False

    def event_row(
        self,
        run_id: str,
        *,
        attempt: int,
        at: datetime,
        from_state: RunState,
        to_state: RunState,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The event of this move; a move the table does not allow is a programming error."""
        if from_state not in self.sources or to_state not in self.targets:
            raise ValueError(f"{self.name} does not move a run from {from_state} to {to_state}")
        return event_row(self.event, run_id, attempt=attempt, at=at, move=(from_state, to_state), data=data)


def _move(name: str, sources: Iterable[RunState], targets: Iterable[RunState], event: str, **kw: Any) -> Move:
    return Move(name, frozenset(sources), frozenset(targets), event, **kw)


S = RunState
#: A worker takes a pending run under its lease (a new attempt).
CLAIM = _move("claim", [S.PENDING], [S.RUNNING], "state")
#: The worker records how the attempt ended (fenced by the attempt number).
FINISH = _move(
    "finish",
    [S.RUNNING],
    [S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT, S.AWAITING_GUIDANCE, S.WAITING],
    "state",
)
#: A worker shutting down returns a run it will not finish.
HAND_BACK = _move("hand_back", [S.RUNNING], [S.PENDING], "handed_back", refund=True)
#: A run whose worker stopped heart-beating: another attempt, or Failed after the last.
RECOVER = _move("recover", [S.RUNNING], [S.PENDING, S.FAILED], "attempt_lost")
#: A person stops a run that is not running (a running one is flagged for its worker).
CANCEL = _move("cancel", [S.PENDING, S.WAITING, S.AWAITING_GUIDANCE], [S.CANCELLED], "state")
#: A parked parent's children all ended.
WAKE = _move("wake", [S.WAITING], [S.PENDING], "state", refund=True)
#: A person (or a remembered answer) answered the question a run waits on.
RESUME = _move("resume", [S.AWAITING_GUIDANCE], [S.PENDING], "guidance", refund=True)
#: Guidance said stop.
STOP = _move("stop", [S.AWAITING_GUIDANCE], [S.FAILED], "guidance")
del S

MOVES = (CLAIM, FINISH, HAND_BACK, RECOVER, CANCEL, WAKE, RESUME, STOP)

#: from-state -> the states a run may move to next (derived from ``MOVES``).
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    state: frozenset(t for m in MOVES if state in m.sources for t in m.targets) for state in RunState
}


def can_move(from_state: RunState, to_state: RunState) -> bool:
    return to_state in TRANSITIONS[from_state]


# --- records ---------------------------------------------------------------------------------


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
    #: Prepared from a process as read a while ago (not a column): its ``updated_at`` then. The run
    #: is written only while the process still has it (else ``ProcessChanged``, and it is prepared
    #: again from a fresh read). None: prepared from a read of the moment.
    process_seen: datetime | None = None

    def __post_init__(self) -> None:
        # Whatever made it (an e-mail subject, a process's name, a person), a run's name is served
        # within the specification's bounds.
        if self.name != (fitted := fit_name(self.name)):
            object.__setattr__(self, "name", fitted)


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs a list shows: those of one process, or of a whole agent, and its filters."""

    process_id: str | None = None
    agent_id: str | None = None
    stage: Stage | None = None
    #: True: only archived runs; False: only runs not archived; None: both.
    archived: bool | None = False
    states: tuple[RunState, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    #: A part of the run's name, in any case.
    name: str | None = None
    #: Made at or after ``since`` and before ``until``.
    since: datetime | None = None
    until: datetime | None = None
    #: False: runs of the Test Suite are left out.
    tests: bool = True


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
    #: The remembered answer that last answered the run's question, if one did.
    learning_id: str | None = None

    def as_created(self) -> Run:
        """The run as it was when it was made (Pending, nothing run): the first answer to its start,
        given again to a retry of that start (``plainrun.domain.idempotency``)."""
        return replace(
            self,
            state=RunState.PENDING,
            outputs=None,
            error=None,
            archived=False,
            attempt=0,
            lease_owner=None,
            lease_expires_at=None,
            cancel_requested=False,
            started_at=None,
            finished_at=None,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Run:
        """A run from its row (the store's column names)."""
        return cls(
            **{name: row[name] for name in _RUN_PLAIN},
            learning_id=row.get("learning_id"),
            stage=Stage(row["stage"]),
            state=RunState(row["state"]),
            trigger=Trigger(row["trigger"]),
            archived=bool(row["archived"]),
            cancel_requested=bool(row["cancel_requested"]),
        )


_RUN_PLAIN = tuple(
    name
    for name in Run.__dataclass_fields__
    if name not in ("stage", "state", "trigger", "archived", "cancel_requested", "learning_id")
)


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

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunEvent:
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            at=row["at"],
            kind=row["kind"],
            from_state=RunState(row["from_state"]) if row["from_state"] else None,
            to_state=RunState(row["to_state"]) if row["to_state"] else None,
            attempt=row["attempt"],
            data=row["data"],
        )


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
    #: Child runs the attempt started, created with the outcome.
    children: list[NewRun] = field(default_factory=list)
    #: The run's parent, to wake when this outcome ends the run.
    parent_run_id: str | None = None

    def __post_init__(self) -> None:
        # Outputs come from a process's own facts: their names and values are fitted to the
        # specification's RunOutput here, once, for every way a run ends.
        if not fits(self.outputs):
            object.__setattr__(self, "outputs", fit_outputs(self.outputs))

    @property
    def final(self) -> bool:
        return self.to_state in FINAL_STATES

    @property
    def plain(self) -> bool:
        """Whether the outcome starts, parks and wakes no other run."""
        return not (self.children or self.to_state is RunState.WAITING or (self.final and self.parent_run_id))


# --- the one builder of run rows and events --------------------------------------------------


def name_key(name: str) -> str:
    """A run's name as a search by name compares it (case-folded; the search folds its text alike)."""
    return name.casefold()


def pending_row(new: NewRun) -> dict[str, Any]:
    """The row of a run that was just made: Pending, attempt 0, nothing run yet."""
    return {
        **{name: getattr(new, name) for name in NewRun.__dataclass_fields__ if name != "process_seen"},
        "name_key": name_key(new.name),
        "stage": new.stage.value,
        "trigger": new.trigger.value,
        "state": RunState.PENDING.value,
        "archived": False,
        "attempt": 0,
        "cancel_requested": False,
        "outputs": None,
        "error": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "started_at": None,
        "finished_at": None,
        "learning_id": None,
    }


def event_row(
    kind: str,
    run_id: str,
    *,
    attempt: int,
    at: datetime,
    move: tuple[RunState | None, RunState | None] = (None, None),
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An event of a run's timeline in the store's column names (its id is the database's)."""
    from_state, to_state = move
    return {
        "run_id": run_id,
        "at": at,
        "kind": kind,
        "from_state": from_state.value if from_state is not None else None,
        "to_state": to_state.value if to_state is not None else None,
        "attempt": attempt,
        "data": dict(data) if data is not None else None,
    }


def created_events(
    rows: Sequence[Mapping[str, Any]], data: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The ``created`` events of runs made by :func:`pending_row`."""
    return [
        event_row(
            "created",
            r["id"],
            attempt=0,
            at=r["created_at"],
            move=(None, RunState.PENDING),
            data={"trigger": r["trigger"], **(data or {})},
        )
        for r in rows
    ]


def log_events(
    run_id: str, attempt: int, at: datetime, lines: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Log lines of an attempt as events."""
    return [event_row("log", run_id, attempt=attempt, at=at, data=line) for line in lines]
