"""Runs made in the group commit, read, paged with filters, archived; events and children."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

from plainrun.domain import ids
from plainrun.domain.runs import Run, RunQuery, RunState, Stage, Trigger
from plainrun.errors import PlainrunError, ProcessChanged
from plainrun.store import Store, open_store
from tests.contract.conftest import make_process, make_runs, new_runs


def test_runs_list_newest_first_with_keyset_pages_and_filters(store: Store) -> None:
    process = make_process(store)
    run_ids = make_runs(store, 25, process=process)
    make_runs(store, 5, process=process, stage=Stage.PUBLISHED)
    made = new_runs(store, 2, process=process)
    store.runs.create([dataclasses.replace(n, trigger=Trigger.EMAIL) for n in made])
    seen: list[str] = []
    before = None
    while True:
        page = store.runs.page(
            RunQuery(process_id=process.id, stage=Stage.DRAFT, triggers=(Trigger.API,)),
            before_id=before,
            limit=10,
        )
        seen += [r.id for r in page]
        if len(page) < 10:
            break
        before = page[-1].id
    assert seen == list(reversed(run_ids))
    assert [r.id for r in store.runs.page(RunQuery(process_id=process.id, triggers=(Trigger.EMAIL,)))] == [
        n.id for n in reversed(made)
    ]
    assert store.runs.set_archived(run_ids[:3], True) == run_ids[:3]
    assert store.runs.set_archived(run_ids[:3], True) == []  # already archived: nothing changes
    default = [r.id for r in store.runs.page(RunQuery(process_id=process.id), limit=100)]
    assert len(default) == 29 and not set(run_ids[:3]) & set(default)
    assert {r.id for r in store.runs.page(RunQuery(process_id=process.id, archived=True), limit=100)} == set(
        run_ids[:3]
    )
    assert len(store.runs.page(RunQuery(process_id=process.id, archived=None), limit=100)) == 32
    assert len(store.runs.page(RunQuery(process_id=process.id, stage=Stage.PUBLISHED), limit=100)) == 5
    assert store.runs.page(RunQuery(process_id=process.id, states=(RunState.RUNNING,))) == []
    kinds = [e.kind for e in store.runs.events(run_ids[0])]
    assert kinds == ["created", "archived"]
    assert store.runs.set_archived(run_ids[:1], False) == run_ids[:1]
    assert store.runs.count_by_state() == {"Pending": 32}
    assert set(store.runs.get_many([*run_ids[:2], "nope"])) == set(run_ids[:2])


def test_concurrent_starts_share_transactions_and_a_refused_one_fails_alone(store: Store) -> None:
    process = make_process(store)
    batches = [new_runs(store, 3, process=process) for _ in range(12)]
    results: list[object] = [None] * len(batches)

    def start(i: int) -> None:
        results[i] = store.runs.create(batches[i])

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(batches))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [[r.id for r in rs] for rs in results] == [[n.id for n in b] for b in batches]  # type: ignore[attr-defined]
    assert len(store.runs.page(RunQuery(process_id=process.id), limit=100)) == 36
    # Each run on its own terms: one naming a process that does not exist is refused, the others not.
    good, bad = new_runs(store, 2, process=process)
    bad = dataclasses.replace(bad, process_id=ids.new_id())
    made = store.runs.create_each([good, bad])
    assert isinstance(made[1], PlainrunError) and not isinstance(made[0], PlainrunError)
    assert store.runs.get(good.id) is not None and store.runs.get(bad.id) is None


def test_runs_started_on_an_event_loop_are_written_together(store: Store) -> None:
    process = make_process(store)
    callers = [new_runs(store, 2, process=process) for _ in range(20)]
    bad = new_runs(store, 1, process=process)
    callers.append([dataclasses.replace(bad[0], process_id=ids.new_id())])

    async def start_all() -> list[object]:
        return await asyncio.gather(*(store.runs.create_async(c) for c in callers), return_exceptions=True)

    results = asyncio.run(start_all())
    assert isinstance(results[-1], PlainrunError) and store.runs.get(bad[0].id) is None
    for caller, result in zip(callers[:-1], results[:-1], strict=True):
        assert [r.id for r in result] == [n.id for n in caller]  # type: ignore[attr-defined]
        assert all(store.runs.get(n.id) is not None for n in caller)


def test_children_are_listed_and_counted(store: Store) -> None:
    process = make_process(store)
    [parent] = make_runs(store, 1, process=process)
    children = [r.id for r in store.runs.create(new_runs(store, 3, process=process, parent_run_id=parent))]
    assert [r.id for r in store.runs.children(parent)] == children
    assert store.runs.count_children(parent) == 3 and store.runs.count_children(children[0]) == 0


def test_runs_prepared_from_a_process_read_before_it_changed_are_refused(
    store: Store, database_url: str, executor: str
) -> None:
    process = make_process(store)
    found = store.processes.for_run(process.id, Stage.DRAFT)
    assert found is not None and store.processes.seen_for_run(process.id, Stage.DRAFT) == found
    seen = found[0].updated_at
    [ok] = store.runs.create(new_runs(store, 1, process=process, process_seen=seen))
    store.processes.update(process.id, description="changed here")
    assert store.processes.seen_for_run(process.id, Stage.DRAFT) is None  # its own change: forgotten
    stale = new_runs(store, 2, process=process, process_seen=seen)
    refused, fresh = store.runs.create_each([stale[0], *new_runs(store, 1, process=process)])
    assert isinstance(refused, ProcessChanged) and isinstance(fresh, Run)

    # Read again here, then changed by another server: found out when the run is written.
    found = store.processes.for_run(process.id, Stage.DRAFT)
    assert found is not None
    other = open_store(database_url, fast=executor == "fast")
    try:
        other.processes.update(process.id, description="changed elsewhere")
    finally:
        other.dispose()
    assert store.processes.seen_for_run(process.id, Stage.DRAFT) == found  # not heard of here
    later = new_runs(store, 1, process=process, process_seen=found[0].updated_at)
    with pytest.raises(ProcessChanged):
        store.runs.create(later)
    listed = {r.id for r in store.runs.page(RunQuery(process_id=process.id), limit=10)}
    assert listed == {ok.id, fresh.id}
