"""An agent's home page in figures: runs per day by state, and each process's record.

The figures are tallies: the runs of one UTC day (the day a run was made, read from its id), one
process and one state, with a sketch of how long the succeeded ones ran. A past day's tallies of
ended runs never change (an ended run stays as it ended; a re-run is a new run of its own day), so
the store keeps them once counted (``store/sql/days.py``), and only today, and the runs that had not
ended when their day was counted, are read afresh.

Durations are kept as a sketch: counts in buckets whose bounds grow by ``GAMMA``, so two sketches
merge by adding counts, and a percentile read from one is within ``ACCURACY`` (1 %) of the exact
nearest-rank percentile of the same durations (durations under ``SMALLEST_S`` count as it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from plainrun.domain import ids
from plainrun.domain.runs import RunState

#: The days a home page looks back over.
DAYS = 30
#: How long after its end a day is counted once and for all: a run is written within this of the
#: moment its id was made (hosts' clocks agree to within it).
SETTLE = timedelta(hours=1)
#: The most processes a home page gives a record of (those with the most runs).
MAX_PROCESSES = 50

#: A percentile read from a sketch is within this share of the exact one.
ACCURACY = 0.01
GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
#: The shortest duration a sketch tells apart from zero (seconds).
SMALLEST_S = 0.001


def bucket(seconds: float) -> int:
    """The sketch's bucket of a duration: bucket ``i > 0`` holds durations in
    (SMALLEST_S * GAMMA ** (i - 1), SMALLEST_S * GAMMA ** i]; bucket 0 those up to SMALLEST_S."""
    if seconds <= SMALLEST_S:
        return 0
    return max(1, math.ceil(math.log(seconds / SMALLEST_S) / _LOG_GAMMA))


def bucket_value(index: int) -> float:
    """The duration a bucket stands for: within ``ACCURACY`` of every duration in it."""
    if index <= 0:
        return SMALLEST_S
    return SMALLEST_S * 2 * GAMMA**index / (GAMMA + 1)


def sketch_percentile(sketch: Mapping[int, int], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1) of the durations a sketch counts."""
    total = sum(sketch.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for index in sorted(sketch):
        seen += sketch[index]
        if seen >= rank:
            return bucket_value(index)
    return bucket_value(max(sketch))  # pragma: no cover - the loop reaches the rank


def percentile(values: Sequence[float], share: float) -> float | None:
    """The exact nearest-rank percentile (``share`` in 0..1) of ``values``; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def day_of(run_id: str) -> date:
    """The UTC day a run was made (its id begins with the moment)."""
    return datetime.fromtimestamp(ids.id_time_ms(run_id) / 1000, UTC).date()


def first_id(day: date) -> str:
    """The smallest id of a run made on ``day`` (UTC) or later."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return ids.floor(int(start.timestamp() * 1000))


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the home page reads of one run: the day it was made, and how long it ran (seconds,
    from its start to its end, as the database computes it; None until it ended)."""

    id: str
    day: date
    process_id: str
    state: RunState
    seconds: float | None

    @property
    def duration_s(self) -> float | None:
        """How long a succeeded run ran; None for any other."""
        if self.state is not RunState.SUCCEEDED or self.seconds is None:
            return None
        return max(0.0, self.seconds)


@dataclass(slots=True)
class Tally:
    """The runs of one day, process and state; the durations of the succeeded ones as a sketch."""

    day: date
    process_id: str
    state: RunState
    runs: int = 0
    durations: dict[int, int] = field(default_factory=dict)


def tally(runs: Iterable[RunFacts]) -> list[Tally]:
    """The runs counted by (day, process, state)."""
    out: dict[tuple[date, str, RunState], Tally] = {}
    for facts in runs:
        key = (facts.day, facts.process_id, facts.state)
        found = out.get(key)
        if found is None:
            found = out[key] = Tally(*key)
        found.runs += 1
        if facts.state is RunState.SUCCEEDED and facts.seconds is not None:
            index = bucket(facts.seconds)
            found.durations[index] = found.durations.get(index, 0) + 1
    return list(out.values())


def merge_durations(
    tallies: Iterable[Tally], into: dict[str, dict[int, int]] | None = None
) -> dict[str, dict[int, int]]:
    """The tallies' sketches merged per process (into ``into`` when given)."""
    out: dict[str, dict[int, int]] = {} if into is None else into
    for one in tallies:
        if not one.durations:
            continue
        sketch = out.setdefault(one.process_id, {})
        for index, n in one.durations.items():
            sketch[index] = sketch.get(index, 0) + n
    return out


@dataclass(frozen=True, slots=True)
class DayCount:
    """A past day counted once: its ended runs' tallies, and the runs not ended yet (read afresh on
    every count until the window passes them)."""

    day: date
    tallies: list[Tally]
    open_ids: list[str]


def count_day(day: date, runs: Iterable[RunFacts]) -> DayCount:
    """A day counted from the runs made on it (a day with no run is counted too)."""
    ended: list[RunFacts] = []
    open_ids: list[str] = []
    for facts in runs:
        if facts.state.is_final:
            ended.append(facts)
        else:
            open_ids.append(facts.id)
    return DayCount(day, tally(ended), open_ids)


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


def figures(
    tallies: Iterable[Tally],
    today: date,
    names: Mapping[str, str],
    days: int = DAYS,
    durations: Mapping[str, Mapping[int, int]] | None = None,
) -> Overview:
    """The home page's figures from the tallies of the last ``days`` days up to ``today`` (and,
    when given, ``durations``: sketches per process merged already, of more tallies of those days)."""
    series = [today - timedelta(days=days - 1 - i) for i in range(days)]
    index = {d: i for i, d in enumerate(series)}
    per_day: dict[RunState, list[int]] = {}
    counts: dict[str, dict[RunState, int]] = {}
    inside = []
    for one in tallies:
        at = index.get(one.day)
        if at is None:
            continue
        inside.append(one)
        per_day.setdefault(one.state, [0] * days)[at] += one.runs
        mine = counts.setdefault(one.process_id, {})
        mine[one.state] = mine.get(one.state, 0) + one.runs
    sketches = merge_durations(inside, {p: dict(sketch) for p, sketch in (durations or {}).items()})
    busiest = sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:MAX_PROCESSES]
    records = [
        ProcessRecord(
            process_id=process_id,
            name=names.get(process_id, process_id),
            runs=sum(by_state.values()),
            succeeded=by_state.get(RunState.SUCCEEDED, 0),
            ended=sum(n for s, n in by_state.items() if s.is_final),
            p50_s=sketch_percentile(sketches.get(process_id, {}), 0.50),
            p95_s=sketch_percentile(sketches.get(process_id, {}), 0.95),
        )
        for process_id, by_state in busiest
    ]
    total = sum(sum(v) for v in per_day.values())
    return Overview(days=series, per_day=per_day, processes=records, waiting=0, queued=0, total=total)
