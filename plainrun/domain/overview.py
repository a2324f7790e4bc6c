"""An agent's home page in figures: runs per day by state, and each process's record."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from plainrun.domain.runs import RunState

#: The days a home page looks back over.
DAYS = 30


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    process_id: str
    name: str
    runs: int
    succeeded: int
    #: Of runs that ended (succeeded, failed, cancelled, timed out).
    ended: int
    p50_s: float | None
    p95_s: float | None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.ended if self.ended else None


@dataclass(frozen=True, slots=True)
class Overview:
    days: list[date]
    #: Runs made on each day of ``days``, by state.
    per_day: dict[RunState, list[int]]
    processes: list[ProcessRecord]
    waiting: int
    queued: int
    total: int = field(default=0)


def by_day(
    rows: Iterable[tuple[str, str, str, int]], today: date, days: int = DAYS
) -> tuple[list[date], dict[RunState, list[int]], dict[str, dict[RunState, int]]]:
    """(day, process, state, runs) rows as one series per state over the last ``days`` days up to
    ``today``, and each process's runs by state."""
    series = [today - timedelta(days=days - 1 - i) for i in range(days)]
    index = {d.isoformat(): i for i, d in enumerate(series)}
    per_day: dict[RunState, list[int]] = {}
    per_process: dict[str, dict[RunState, int]] = {}
    for day, process_id, state_name, runs in rows:
        state = RunState(state_name)
        at = index.get(day)
        if at is not None:
            per_day.setdefault(state, [0] * days)[at] += runs
        counts = per_process.setdefault(process_id, {})
        counts[state] = counts.get(state, 0) + runs
    return series, per_day, per_process
