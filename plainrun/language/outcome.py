"""What running a process gives: it succeeded, it paused on a question, or it failed; and guidance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GUIDANCE_KINDS = ("value", "retry", "skip", "stop")
PAUSE_KINDS = ("missing", "ask", "validate", "book", "conversion", "error")


@dataclass(frozen=True)
class Succeeded:
    """The run finished; ``outputs`` are ``{"name", "value"}`` with text, int or float values."""

    outputs: list[dict[str, Any]]
    log: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": "succeeded", **_fields(self)}


@dataclass(frozen=True)
class Paused:
    """The run waits for guidance on ``question`` (an exception, or an ``ask``).

    ``kind`` is one of missing, ask, validate, book, conversion, error; ``facts`` names the facts
    involved; ``known_facts`` is every fact of the procedure at the pause, as plain JSON.
    """

    question: str
    line: int
    column: int
    kind: str
    choices: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    known_facts: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": "paused", **_fields(self)}


@dataclass(frozen=True)
class Failed:
    """The run ended with an error that guidance cannot fix (or ``on_exception="fail"``)."""

    message: str
    line: int
    column: int
    kind: str = "error"
    log: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": "failed", **_fields(self)}


@dataclass(frozen=True)
class Waiting:
    """The run waits for child runs (``runs``, their ids) to end; it resumes by replay once they have.

    Not a stored outcome: the execution's state is saved as it is and run again after the children
    ended, when the wait finds their results.
    """

    runs: list[str]
    log: list[str] = field(default_factory=list)


class WaitForRuns(BaseException):
    """Raised by an environment whose child runs have not all ended yet (see :class:`Waiting`).

    A BaseException, so that the interpreter's handling of book errors never catches it.
    """

    def __init__(self, run_ids: list[str]):
        super().__init__(f"waiting for {len(run_ids)} child runs")
        self.run_ids = list(run_ids)


Outcome = Succeeded | Paused | Failed


def outcome_from_json(data: dict[str, Any]) -> Outcome:
    data = dict(data)
    kind = data.pop("outcome")
    kinds: dict[str, type[Succeeded] | type[Paused] | type[Failed]] = {
        "succeeded": Succeeded,
        "paused": Paused,
        "failed": Failed,
    }
    return kinds[kind](**data)


@dataclass(frozen=True)
class Guidance:
    """A person's answer to a pause: give a ``value``, ``retry`` the step, ``skip`` it, or ``stop``."""

    kind: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.kind not in GUIDANCE_KINDS:
            raise ValueError(f"guidance is one of {', '.join(GUIDANCE_KINDS)}, not {self.kind!r}")


def _fields(outcome: object) -> dict[str, Any]:
    """An outcome's fields, each list and record copied one level (``dataclasses.asdict`` copies
    deeply, through ``copy.deepcopy``: a tenth of a short run's time in its executor)."""
    return {
        name: list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
        for name, value in vars(outcome).items()
    }
