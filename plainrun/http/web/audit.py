"""A run's timeline in sentences: who did what, by name, with state names as people write them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from plainrun.domain.runs import RunEvent, RunState
from plainrun.http.web.templating import show, state_name

_TRIGGERS = {
    "manual": "by hand",
    "api": "through the API",
    "email": "by an e-mail",
    "schedule": "by a schedule",
    "rerun": "as a re-run",
    "test": "by the Test Suite",
    "subprocess": "by its parent run",
}
_ACTIONS = {"retry": "to retry the step", "skip": "to skip the step", "stop": "to stop the run"}


def principals(events: Iterable[RunEvent]) -> set[str]:
    """The principals (key ids, ``user:…``) the events name, to be turned into names."""
    found = set()
    for event in events:
        by = (event.data or {}).get("by")
        if isinstance(by, str):
            found.add(by)
    return found


def sentence(event: RunEvent, names: Mapping[str, str]) -> str:
    """What happened, in one sentence."""
    data: dict[str, Any] = event.data or {}
    to = state_name(event.to_state) if event.to_state else ""
    if event.kind == "created":
        return f"Created {_TRIGGERS.get(str(data.get('trigger')), '')}, waiting for a worker.".replace(
            "  ", " "
        )
    if event.kind == "guidance":
        return _guidance(data, names, to)
    if event.kind == "handed_back":
        return "The worker shutting down handed the run back; it waits for another worker."
    if event.kind == "attempt_lost":
        if event.to_state is RunState.FAILED:
            return "Its worker stopped answering too many times; the run failed."
        return "Its worker stopped answering; the run waits for another attempt."
    if event.kind in ("archived", "unarchived"):
        return f"The run was {event.kind}."
    if event.kind == "state":
        return _state(event, data, to)
    detail = ", ".join(f"{k}: {show(v)}" for k, v in data.items())
    return f"{event.kind.replace('_', ' ').capitalize()}{f' ({detail})' if detail else ''}."


def _who(data: Mapping[str, Any], names: Mapping[str, str]) -> str:
    by = data.get("by")
    if by == "learning":
        who = data.get("by_name")
        return f"a remembered answer{f' of {who}' if who else ''}"
    return str(data.get("by_name") or names.get(str(by), "someone"))


def _guidance(data: Mapping[str, Any], names: Mapping[str, str], to: str) -> str:
    who = _who(data, names)
    action = str(data.get("action", ""))
    line = data.get("line")
    where = f" on line {line}" if line else ""
    if action == "value":
        said = f'answered "{show(data.get("value"))}"'
    else:
        said = f"chose {_ACTIONS.get(action, action)}"
    question = data.get("question")
    asked = f' to "{question}"' if question else ""
    remembered = " and chose to remember the answer" if data.get("remember") else ""
    return f"{who[:1].upper()}{who[1:]} {said}{asked}{where}{remembered}; the run is {to}."


def _state(event: RunEvent, data: Mapping[str, Any], to: str) -> str:
    if event.to_state is RunState.RUNNING:
        return f"A worker started attempt {event.attempt}."
    if event.to_state is RunState.AWAITING_GUIDANCE:
        return "The run stopped to ask a person a question."
    if event.to_state is RunState.WAITING:
        waiting = data.get("waiting_for") or []
        return f"The run waits for {len(waiting)} child run(s) to end."
    if event.to_state is RunState.CANCELLED:
        return f"The run was cancelled ({data.get('reason', 'cancelled')})."
    if event.from_state is RunState.WAITING and event.to_state is RunState.PENDING:
        return "Its child runs ended; the run waits for a worker to go on."
    message = data.get("message") or data.get("reason")
    return f"The run is {to}{f': {message}' if message else ''}."
