"""Run states, their API status, and the transitions allowed between them."""

from __future__ import annotations

import enum


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

FINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT})

#: from-state -> the states a run may move to next.
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.RUNNING, RunState.CANCELLED, RunState.FAILED}),
    RunState.RUNNING: frozenset(
        {
            RunState.SUCCEEDED,
            RunState.FAILED,
            RunState.CANCELLED,
            RunState.TIMED_OUT,
            RunState.AWAITING_GUIDANCE,
            RunState.WAITING,
            RunState.PENDING,  # the worker was lost; the run waits for another attempt
        }
    ),
    # Its child runs ended (Pending: resume), or a person cancelled it.
    RunState.WAITING: frozenset({RunState.PENDING, RunState.CANCELLED, RunState.FAILED}),
    RunState.AWAITING_GUIDANCE: frozenset({RunState.PENDING, RunState.FAILED, RunState.CANCELLED}),
    RunState.SUCCEEDED: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.CANCELLED: frozenset(),
    RunState.TIMED_OUT: frozenset(),
}


def can_move(from_state: RunState, to_state: RunState) -> bool:
    return to_state in TRANSITIONS[from_state]


def states_with_status(status: RunStatus) -> list[RunState]:
    return [state for state, s in _STATUS.items() if s is status]
