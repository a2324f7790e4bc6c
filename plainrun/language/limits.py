"""Bounds that turn runaway processes into a clear failure instead of a dead worker."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Per-run bounds. A run past one of them fails with ``LimitExceeded`` on the line that passed it.

    ``max_memory_mb`` is the resident memory of the whole process, checked every few thousand
    steps (the worker runs each process in its own executor process, so it is the run's memory).
    """

    max_steps: int = 50_000_000
    max_loop_iterations: int = 5_000_000
    max_depth: int = 100
    max_text_chars: int = 10_000_000
    max_list_items: int = 2_000_000
    max_memory_mb: int | None = 2048
    max_children: int = 50

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))  # every field a number: no deep copy to make

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Limits:
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_mb() -> float | None:
    """The resident memory of this process in MB, where the system tells it."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE / 1_048_576
    except (OSError, ValueError, IndexError):
        return None
