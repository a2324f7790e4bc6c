"""The home page's figures from the roll-up equal the figures counted from every run, whatever
changed since a day was counted."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from plainrun.domain import ids
from plainrun.domain.overview import DAYS, Overview, percentile
from plainrun.domain.runs import NewRun, Outcome, RunQuery, RunState, Stage, Trigger
from plainrun.services import overview as overview_service
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services
from tests.unit.services.conftest import new_process

SOURCE = "to p\n  say 1\n"


def _runs(services: Services, process_id: str, agent_id: str, when: list[datetime]) -> list[str]:
    sha = services.store.processes.get(process_id).draft_sha256  # type: ignore[union-attr]
    made = [
        NewRun(
            id=ids.made_at(int(at.timestamp() * 1000)),
            agent_id=agent_id,
            process_id=process_id,
            name=f"run {i}",
            stage=Stage.DRAFT,
            version=0,
            sha256=sha,
            inputs=[],
            file_ids=[],
            trigger=Trigger.API,
            max_attempts=1,
            timeout_s=60.0,
            created_at=at,
        )
        for i, at in enumerate(when)
    ]
    return [r.id for r in services.store.runs.create(made)]


def _end(services: Services, run_ids: list[str], state: RunState) -> None:
    claimed = {r.id: r for r in services.store.execution.claim("w", limit=1000, lease_s=60)}
    services.store.execution.finish([Outcome(i, claimed[i].attempt, state, outputs=[]) for i in run_ids])
    services.store.execution.hand_back("w", [i for i in claimed if i not in run_ids])


def _exact(
    services: Services, agent_id: str, today: date
) -> tuple[dict[tuple[date, RunState], int], dict[str, float | None]]:
    """Runs per (day, state) and each process's p95, counted from every run."""
    first = today - timedelta(days=DAYS - 1)
    runs = services.store.runs.page(RunQuery(agent_id=agent_id, archived=None), limit=10_000)
    days: Counter[tuple[date, RunState]] = Counter()
    durations: dict[str, list[float]] = {}
    for run in runs:
        day = datetime.fromtimestamp(ids.id_time_ms(run.id) / 1000, UTC).date()
        if day < first:
            continue
        days[(day, run.state)] += 1
        if run.state is RunState.SUCCEEDED and run.started_at and run.finished_at:
            durations.setdefault(run.process_id, []).append(
                (run.finished_at - run.started_at).total_seconds()
            )
    return dict(days), {p: percentile(d, 0.95) for p, d in durations.items()}


def _shown(figures: Overview) -> dict[tuple[date, RunState], int]:
    return {
        (day, state): n
        for state, series in figures.per_day.items()
        for day, n in zip(figures.days, series, strict=True)
        if n
    }


def _check(services: Services, agent_id: str, today: date) -> None:
    figures = services.overview.of_agent(SYSTEM, agent_id)
    days, p95 = _exact(services, agent_id, today)
    assert _shown(figures) == days
    for record in figures.processes:
        exact = p95.get(record.process_id)
        if exact is None:
            assert record.p95_s is None
        else:
            assert record.p95_s == pytest.approx(exact, rel=0.01, abs=0.001)


def test_the_figures_stay_right_as_counted_days_change(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.overview.fresh_s = 0.0
    agent = services.agents.create(SYSTEM, name="acme")
    process = new_process(services, agent, SOURCE)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    when = [now - timedelta(days=d, hours=h) for d in (0, 1, 2, 5, 29, 31) for h in (0, 3)]
    run_ids = _runs(services, process.id, agent.id, when)
    _end(services, run_ids[2:6], RunState.SUCCEEDED)
    _end(services, run_ids[6:7], RunState.FAILED)
    _check(services, agent.id, today)  # counts the past days into the roll-up
    assert services.store.days.counted(agent.id, today - timedelta(days=DAYS - 1))[0]

    # Runs not ended when their day was counted end later; one is archived; a rerun is a new run.
    _end(services, run_ids[7:10], RunState.SUCCEEDED)
    services.store.runs.set_archived(run_ids[2:3], True)
    _runs(services, process.id, agent.id, [now])
    _check(services, agent.id, today)

    # A host whose clock is a day behind reads afresh the day the others counted last; none twice.
    monkeypatch.setattr(overview_service, "utcnow", lambda: now - timedelta(days=1))
    behind = services.overview.of_agent(SYSTEM, agent.id)
    monkeypatch.undo()
    yesterday = today - timedelta(days=1)
    assert _shown(behind) == {
        k: n for k, n in _exact(services, agent.id, yesterday)[0].items() if k[0] <= yesterday
    }
    _check(services, agent.id, today)


def test_a_day_counted_elsewhere_meanwhile_is_taken_as_it_was_counted(services: Services) -> None:
    services.overview.fresh_s = 0.0
    agent = services.agents.create(SYSTEM, name="acme")
    process = new_process(services, agent, SOURCE)
    now = datetime.now(UTC)
    run_ids = _runs(services, process.id, agent.id, [now - timedelta(days=3)] * 3)
    _end(services, run_ids, RunState.SUCCEEDED)
    first = services.overview.of_agent(SYSTEM, agent.id)
    again = dataclasses.replace(services.overview.of_agent(SYSTEM, agent.id), waiting=0, queued=0)
    assert dataclasses.replace(first, waiting=0, queued=0) == again
    assert first.total == 3 and first.processes[0].success_rate == 1.0
