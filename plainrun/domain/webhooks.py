"""Webhooks: subscriptions to run events, the deliveries of the outbox, and when to try again.

A subscription belongs to one agent, and to one of its processes or all of them; it names the
events it wants (``EVENTS``) and the URL each is POSTed to. When a run's state change is one of
those events, the store writes a delivery for each matching subscription **in the same
transaction** as the change (the outbox), so no event is lost if the service dies after it.

A delivery is sent at least once, as the Standard Webhooks specification says: the JSON body
``{"type", "timestamp", "data"}``, signed with the subscription's ``whsec_`` secret over
``"{webhook-id}.{webhook-timestamp}.{body}"``. Its id (``webhook-id``) is the same on every try, so a
receiver can drop what it has seen. A try that fails (no answer, or a status other than 2xx) is tried
again after an exponentially growing pause (:class:`Retry`), for a day; then the delivery is Failed.

Pure: the sending is the deliverer's (``plainrun.engine.deliverer``).
"""

from __future__ import annotations

import base64
import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from plainrun.domain.runs import RunState

#: The event of each state a run may move to that subscribers hear of.
EVENT_OF_STATE: dict[RunState, str] = {
    RunState.SUCCEEDED: "run.succeeded",
    RunState.FAILED: "run.failed",
    RunState.AWAITING_GUIDANCE: "run.waiting_for_guidance",
    RunState.CANCELLED: "run.cancelled",
    RunState.TIMED_OUT: "run.timed_out",
}
EVENTS: tuple[str, ...] = tuple(EVENT_OF_STATE.values())
#: The states whose moves are told (a move to any other state writes no delivery).
TOLD_STATES = frozenset(state.value for state in EVENT_OF_STATE)

SECRET_PREFIX = "whsec_"
#: The largest part of a receiver's answer kept with an attempt.
MAX_EXCERPT = 1000
MAX_URL = 2000


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def new_secret() -> str:
    """A signing secret: ``whsec_`` and 32 random bytes in base64 (the specification's form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def message_id(delivery_id: str) -> str:
    """The ``webhook-id`` of a delivery: the same on every try."""
    return f"msg_{delivery_id}"


def event_of(to_state: str | None) -> str | None:
    """The event a move to ``to_state`` is, or None when subscribers do not hear of it."""
    return EVENT_OF_STATE[RunState(to_state)] if to_state in TOLD_STATES else None


def body(event: str, at: datetime, run: dict[str, Any]) -> str:
    """The JSON a delivery sends, written once when the event happens (every try sends the same)."""
    state = RunState(run["state"])
    data = {
        "run_id": run["id"],
        "agent_id": run["agent_id"],
        "process_id": run["process_id"],
        "name": run["name"],
        "stage": run["stage"],
        "state": state.value,
        "status": state.status.value,
        "attempt": run["attempt"],
    }
    return orjson.dumps({"type": event, "timestamp": _iso(at), "data": data}).decode()


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    agent_id: str
    #: None: every process of the agent.
    process_id: str | None
    url: str
    events: tuple[str, ...]
    description: str
    created_at: datetime
    #: The signing secret (shown to the subscriber once, when the subscription is made).
    secret: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subscription:
        return cls(**{**row, "events": tuple(row["events"])})


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a delivery: the answer's status (None when there was none), the start of its
    body, how long it took, and what went wrong when it did not answer."""

    at: datetime
    status_code: int | None
    response: str
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    subscription_id: str
    agent_id: str
    run_id: str
    event: str
    body: str
    state: DeliveryState
    attempts: int
    next_at: datetime
    created_at: datetime
    ended_at: datetime | None
    last_status: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Delivery:
        return cls(**{**row, "state": DeliveryState(row["state"])})


@dataclass(frozen=True)
class Retry:
    """When a failed delivery is tried again: ``first_s`` after the first try, twice as long after
    each next one up to ``max_s``; a delivery still failing ``for_s`` after its event is Failed."""

    first_s: float = 5.0
    max_s: float = 3600.0
    for_s: float = 24 * 3600.0

    def delay(self, attempts: int) -> timedelta:
        """The pause after the ``attempts``-th try failed."""
        exponent = min(max(attempts - 1, 0), 40)
        return timedelta(seconds=min(self.first_s * 2**exponent, self.max_s))

    def next_at(self, created_at: datetime, attempts: int, now: datetime) -> datetime | None:
        """When to try again after the ``attempts``-th try failed at ``now``; None: give up."""
        at = now + self.delay(attempts)
        return at if at <= created_at + timedelta(seconds=self.for_s) else None


def excerpt(content: bytes) -> str:
    """The start of a receiver's answer, as text, at most ``MAX_EXCERPT`` characters."""
    return content[: MAX_EXCERPT * 4].decode("utf-8", "replace")[:MAX_EXCERPT]
