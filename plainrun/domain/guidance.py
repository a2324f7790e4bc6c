"""Guidance: a person's answer to a run's question, and the answers remembered for later runs."""

from __future__ import annotations

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
