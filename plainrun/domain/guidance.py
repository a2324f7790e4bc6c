"""Guidance: a person's answer to a run's question, and the answers remembered for later runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: What a person may answer: a value, run the step again, go on after it, or stop the run.
ACTIONS = ("value", "retry", "skip", "stop")


@dataclass(frozen=True, slots=True)
class Learning:
    """A remembered answer: ``action`` (value, skip or stop) and its ``value`` for one question."""

    id: str
    agent_id: str
    process_id: str
    line: int
    question: str
    action: str
    value: Any
    created_at: datetime
    #: Who chose to remember it, by name.
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a process's questions go: ``assignees`` (ids of users of its agent) answer them, and
    they and ``notify`` (e-mail addresses) are told by e-mail when a run starts waiting."""

    process_id: str
    agent_id: str
    assignees: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()


def learned_what(line: int, action: str, value: Any) -> str:
    """What remembering an answer will do, in words: the sentence a person confirms."""
    does = {
        "value": f"answered {value}",
        "skip": "skipped (the step is passed over)",
        "stop": "stopped (the run fails)",
    }.get(action, action)
    return f"The same question on line {line} will be {does} from now on, without asking anyone."


@dataclass(frozen=True, slots=True)
class Question:
    """A run waiting for a person, as the Guidance Center lists it."""

    run_id: str
    run_name: str
    agent_id: str
    process_id: str
    stage: str
    version: int
    sha256: str
    question: str
    line: int | None
    column: int | None
    choices: tuple[str, ...]
    #: When the run stopped to ask (its attempt's start when the question does not say).
    asked_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Question:
        error = row["error"] or {}
        asked = error.get("asked_at")
        line, column = error.get("line"), error.get("column")
        return cls(
            run_id=row["id"],
            run_name=row["name"],
            agent_id=row["agent_id"],
            process_id=row["process_id"],
            stage=row["stage"],
            version=row["version"],
            sha256=row["sha256"],
            question=str(error.get("question") or error.get("message") or ""),
            line=line if isinstance(line, int) else None,
            column=column if isinstance(column, int) else None,
            choices=tuple(str(c) for c in error.get("choices") or ()),
            asked_at=datetime.fromisoformat(asked) if isinstance(asked, str) else row["started_at"],
        )
