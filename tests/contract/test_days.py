"""The home page's roll-up (``store.days``) and the search by name, on both databases."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from plainrun.domain import ids
from plainrun.domain.overview import count_day
from plainrun.domain.runs import Outcome, RunQuery, RunState
from plainrun.store import Store
from tests.contract.conftest import make_process, new_runs


def _made_on(store: Store, day: date, n: int, **kw: object) -> list[str]:
    """``n`` runs made at noon of ``day`` (UTC), oldest first."""
    noon = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp() * 1000)
    made = new_runs(store, n, **kw)  # type: ignore[arg-type]
    runs = [dataclasses.replace(r, id=ids.made_at(noon + i)) for i, r in enumerate(made)]
    return [r.id for r in store.runs.create(runs)]


def test_a_day_is_counted_once_and_its_runs_not_ended_are_read_as_they_are_now(store: Store) -> None:
    process = make_process(store)
    agent = process.agent_id
    day = datetime.now(UTC).date() - timedelta(days=3)
    run_ids = _made_on(store, day, 4, process=process)
    claimed = {r.id: r for r in store.execution.claim("w", limit=10, lease_s=30)}
    ended = [Outcome(i, claimed[i].attempt, RunState.SUCCEEDED, outputs=[]) for i in run_ids[:2]]
    store.execution.finish([*ended, Outcome(run_ids[2], claimed[run_ids[2]].attempt, RunState.FAILED)])
    store.runs.set_archived([run_ids[0]], True)  # an archived run is still counted

    facts = store.days.facts(agent, day)
    assert sorted(f.id for f in facts) == sorted(run_ids) and {f.day for f in facts} == {day}
    assert {f.id: f.state for f in facts}[run_ids[3]] is RunState.RUNNING
    seconds = {f.id: f.seconds for f in facts}
    assert seconds[run_ids[3]] is None
    for run in store.runs.get_many(run_ids[:3]).values():  # to the microsecond, as the runs say
        assert run.started_at and run.finished_at
        exact = (run.finished_at - run.started_at).total_seconds()
        assert seconds[run.id] == pytest.approx(exact, abs=1e-6)
    next_day = day + timedelta(days=1)
    counts = [count_day(day, facts), count_day(next_day, [])]
    assert store.days.record(agent, counts, forget_before=day) == [day, next_day]
    assert store.days.record(agent, counts[:1], forget_before=day) == []  # once

    assert store.days.counted(agent, day, known=[day]) == ({day, next_day}, [])
    counted, tallies = store.days.counted(agent, day)
    assert counted == {day, next_day}
    by_state = {(t.day, t.process_id, t.state): t for t in tallies}
    assert set(by_state) == {(day, process.id, RunState.SUCCEEDED), (day, process.id, RunState.FAILED)}
    assert by_state[(day, process.id, RunState.SUCCEEDED)].runs == 2
    assert sum(by_state[(day, process.id, RunState.SUCCEEDED)].durations.values()) == 2
    assert by_state[(day, process.id, RunState.FAILED)].durations == {}

    [still] = store.days.open_facts(agent, day)
    assert (still.id, still.state) == (run_ids[3], RunState.RUNNING)
    store.execution.finish([Outcome(run_ids[3], claimed[run_ids[3]].attempt, RunState.SUCCEEDED, outputs=[])])
    [now] = store.days.open_facts(agent, day)
    assert now.state is RunState.SUCCEEDED and now.duration_s is not None
    assert store.days.open_facts(agent, next_day) == []
    assert store.days.counted(make_process(store).agent_id, day) == (set(), [])  # per agent

    store.days.record(agent, [count_day(next_day + timedelta(days=1), [])], forget_before=next_day)
    counted, tallies = store.days.counted(agent, day)
    assert day not in counted and next_day in counted and tallies == []
    assert store.days.open_facts(agent, day) == []


def test_facts_are_the_runs_one_agent_made_on_a_day(store: Store) -> None:
    process = make_process(store)
    today = datetime.now(UTC).date()
    old = _made_on(store, today - timedelta(days=2), 2, process=process)
    _made_on(store, today - timedelta(days=2), 1)  # another agent's
    recent = _made_on(store, today - timedelta(days=1), 3, process=process)
    assert {f.id for f in store.days.facts(process.agent_id, today - timedelta(days=1))} == set(recent)
    older = store.days.facts(process.agent_id, today - timedelta(days=2))
    assert {f.id for f in older} == set(old)
    assert all(f.state is RunState.PENDING and f.seconds is None and f.duration_s is None for f in older)
    assert store.days.facts(process.agent_id, today) == []


def test_a_search_by_name_finds_any_part_of_a_name_in_any_case(store: Store) -> None:
    process = make_process(store)
    names = ["Invoice A-17", "ÉCOLE Straße", 'say "hi" 100%_', "x", "invoice b-18"]
    made = store.runs.create(
        [
            dataclasses.replace(n, name=name)
            for n, name in zip(new_runs(store, 5, process=process), names, strict=True)
        ]
    )
    store.runs.create(new_runs(store, 1))  # another agent's "run 0"
    by_id = {r.id: r.name for r in made}
    agent = RunQuery(agent_id=process.agent_id)

    def found(text: str) -> list[str]:
        where = dataclasses.replace(agent, name=text)
        page = [by_id[r.id] for r in store.runs.page(where, limit=100)]
        assert store.runs.count(where) == len(page)
        return sorted(page)

    assert found("INVOICE") == ["Invoice A-17", "invoice b-18"]
    assert found("voice a") == ["Invoice A-17"]
    assert found("école") == ["ÉCOLE Straße"]
    assert found("strasse") == ["ÉCOLE Straße"]  # case-folded as Python folds it
    assert found('"hi"') == ['say "hi" 100%_']  # quotes are plain text
    assert found("0%_") == ['say "hi" 100%_']  # and so are LIKE's signs
    assert found("%") == ['say "hi" 100%_']
    assert found("x") == ["x"]  # shorter than a trigram
    assert found("-1") == ["Invoice A-17", "invoice b-18"]
    assert found("run 0") == []
    assert found("nowhere") == []
    assert store.runs.count(dataclasses.replace(agent, name="e", process_id=process.id)) == 3
