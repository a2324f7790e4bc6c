"""What one job of the executor pool ends in (``ExecResult``), and the pool's errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from plainrun.errors import PlainrunError

ResultKind = Literal["ok", "error", "timeout", "cancelled", "crashed", "memory"]


class ExecutorError(PlainrunError):
    """The executor pool failed."""


class PoolClosed(ExecutorError):
    """The executor pool is not running."""


class StartupFailed(ExecutorError):
    """An executor process failed to start."""


@dataclass(frozen=True, slots=True)
class ExecResult:
    """How one job ended. Only the fields that belong to its ``kind`` are set."""

    job_id: str
    kind: ResultKind
    value: Any = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    duration_s: float = 0.0
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"
