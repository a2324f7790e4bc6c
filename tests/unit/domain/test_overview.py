"""The home page's tallies and the durations' sketch."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from plainrun.domain import ids
from plainrun.domain.overview import (
    ACCURACY,
    SMALLEST_S,
    RunFacts,
    Tally,
    bucket,
    bucket_value,
    count_day,
    day_of,
    figures,
    first_id,
    percentile,
    sketch_percentile,
    tally,
)
from plainrun.domain.runs import RunState


def _sketch(values: list[float]) -> dict[int, int]:
    out: dict[int, int] = {}
    for v in values:
        out[bucket(v)] = out.get(bucket(v), 0) + 1
    return out


@pytest.mark.parametrize("seed", range(5))
def test_a_sketch_s_percentiles_are_within_its_accuracy(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(0, 2) for _ in range(rng.randint(1, 3000))]
    for share in (0.5, 0.95, 0.99, 0.0, 1.0):
        exact = percentile(values, share)
        assert exact is not None
        assert sketch_percentile(_sketch(values), share) == pytest.approx(
            max(exact, SMALLEST_S), rel=ACCURACY
        )


def test_sketches_merge_by_adding_counts() -> None:
    rng = random.Random(1)
    a, b = [rng.uniform(1, 3) for _ in range(500)], [rng.uniform(10, 30) for _ in range(100)]
    merged = _sketch(a)
    for k, n in _sketch(b).items():
        merged[k] = merged.get(k, 0) + n
    assert merged == _sketch(a + b)
    assert sketch_percentile({}, 0.5) is None


def test_every_duration_is_within_its_bucket_s_value() -> None:
    for seconds in (0.0, 0.0005, 0.001, 0.0011, 1.0, 2.5, 59.9, 3600.0, 86_400.0 * 30):
        assert bucket_value(bucket(seconds)) == pytest.approx(max(seconds, SMALLEST_S), rel=ACCURACY)


def _facts(at: datetime, state: RunState, seconds: float | None = None, process: str = "p") -> RunFacts:
    run_id = ids.made_at(int(at.timestamp() * 1000))
    return RunFacts(run_id, day_of(run_id), process, state, seconds)


def test_a_run_s_day_is_the_day_its_id_was_made() -> None:
    midnight = datetime(2026, 12, 1, tzinfo=UTC)
    just_before = _facts(midnight - timedelta(milliseconds=1), RunState.PENDING)
    assert day_of(just_before.id) == midnight.date() - timedelta(days=1)
    assert just_before.id < first_id(midnight.date()) <= _facts(midnight, RunState.PENDING).id
    assert _facts(midnight, RunState.SUCCEEDED, -0.5).duration_s == 0.0  # clocks apart
    assert _facts(midnight, RunState.FAILED, 2.0).duration_s is None


def test_a_day_is_counted_from_its_ended_runs_and_keeps_the_others_open() -> None:
    day = datetime(2026, 11, 20, 12, tzinfo=UTC)
    runs = [
        _facts(day, RunState.SUCCEEDED, 2.0),
        _facts(day, RunState.SUCCEEDED, 3.0),
        _facts(day, RunState.FAILED, 1.0),
        _facts(day, RunState.AWAITING_GUIDANCE),
    ]
    counted = count_day(day.date(), runs)
    assert count_day(day.date(), []) == count_day(day.date(), []) and not count_day(day.date(), []).tallies
    assert counted.open_ids == [runs[3].id]
    by_state = {t.state: t for t in counted.tallies}
    assert (
        by_state[RunState.SUCCEEDED].runs == 2 and sum(by_state[RunState.SUCCEEDED].durations.values()) == 2
    )
    assert by_state[RunState.FAILED].durations == {}


def test_the_figures_of_the_window() -> None:
    today = datetime(2026, 12, 1, tzinfo=UTC).date()
    tallies = [
        *tally([_facts(datetime(2026, 12, 1, 9, tzinfo=UTC), RunState.SUCCEEDED, 2.0)] * 3),
        Tally(today - timedelta(days=1), "p", RunState.FAILED, 1),
        Tally(today - timedelta(days=1), "q", RunState.PENDING, 4),
        Tally(today - timedelta(days=40), "p", RunState.FAILED, 9),  # before the window
    ]
    shown = figures(tallies, today, {"p": "pay"})
    assert shown.days[-1] == today and len(shown.days) == 30
    assert shown.per_day[RunState.SUCCEEDED][-1] == 3 and shown.per_day[RunState.FAILED][-2] == 1
    assert shown.total == 8
    [p, q] = shown.processes  # as many runs each: by id
    assert (q.process_id, q.name, q.runs, q.ended, q.success_rate) == ("q", "q", 4, 0, None)
    assert (p.name, p.runs, p.succeeded, p.ended) == ("pay", 4, 3, 4)
    assert p.p50_s == pytest.approx(2.0, rel=ACCURACY) and p.p95_s == pytest.approx(2.0, rel=ACCURACY)
