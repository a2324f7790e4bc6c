"""Schedules in the store: editions, due slots, each slot fired once with its run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from plainrun.domain.clock import utcnow
from plainrun.domain.runs import RunQuery
from plainrun.domain.schedules import Schedule
from plainrun.errors import NotFound
from plainrun.store import Store
from tests.contract.conftest import make_process, new_runs


def _schedule(store: Store) -> Schedule:
    process = make_process(store)
    return store.schedules.create(
        agent_id=process.agent_id,
        process_id=process.id,
        name="nightly",
        kind="daily",
        spec={"at": "02:30"},
        timezone="Europe/Berlin",
        inputs=[],
        catch_up="skip",
        catch_up_window_s=None,
        enabled=True,
        next_at=utcnow() - timedelta(minutes=1),
    )


def test_a_slot_fires_once_with_its_run_whoever_fires_it(store: Store) -> None:
    schedule = _schedule(store)
    assert store.schedules.due(utcnow()) == [schedule] and store.schedules.earliest_next() == schedule.next_at
    slot = schedule.next_at
    assert slot is not None
    process = store.processes.get(schedule.process_id)
    runs = new_runs(store, 6, process=process)
    with ThreadPoolExecutor(3) as pool:
        fires = list(pool.map(lambda run: store.schedules.fire(schedule, slot, run=run), runs))
    [fired] = [f for f in fires if f is not None]
    assert fired.run_id is not None and store.runs.get(fired.run_id) is not None
    assert [r.id for r in store.runs.page(RunQuery(process_id=schedule.process_id))] == [
        fired.run_id
    ]  # the losers wrote no run
    assert store.schedules.fires(schedule.id) == [fired]
    assert store.schedules.advance(schedule, slot + timedelta(days=1))
    assert not store.schedules.advance(schedule, slot)  # only forward


def test_an_edit_makes_a_new_edition_that_stops_schedulers_holding_the_old(store: Store) -> None:
    schedule = _schedule(store)
    edited = store.schedules.update(schedule.id, name="nightly run", enabled=False, next_at=None)
    assert (
        edited.revision == 2 and edited.name == "nightly run" and store.schedules.get(schedule.id) == edited
    )
    assert schedule.next_at is not None
    assert store.schedules.fire(schedule, schedule.next_at, run=None, error="x") is None
    assert not store.schedules.advance(schedule, schedule.next_at + timedelta(days=1))
    assert store.schedules.due(utcnow()) == [] and store.schedules.earliest_next() is None
    assert store.schedules.of_agent(schedule.agent_id) == [edited]
    assert store.schedules.of_agent(schedule.agent_id, process_id=schedule.process_id) == [edited]
    assert store.schedules.delete(schedule.id) and not store.schedules.delete(schedule.id)
    with pytest.raises(NotFound):
        store.schedules.update(schedule.id, name="gone")
