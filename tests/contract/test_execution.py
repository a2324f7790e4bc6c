"""Execution: claims, leases, the fenced finish, hand-backs, cancels, recovery and child runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from plainrun.domain.clock import utcnow
from plainrun.domain.runs import Outcome, RunState
from plainrun.errors import Conflict, NotFound
from plainrun.store import Store
from tests.contract.conftest import make_process, make_runs, new_runs


def _state(store: Store, run_id: str) -> RunState:
    run = store.runs.get(run_id)
    assert run is not None
    return run.state


def test_concurrent_claims_never_share_a_run(store: Store) -> None:
    run_ids = make_runs(store, 60)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(worker: str) -> None:
        while batch := store.execution.claim(worker, limit=4, lease_s=30):
            with lock:
                claimed.extend(r.id for r in batch)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(claimed) == sorted(run_ids)
    run = store.runs.get(run_ids[0])
    assert run is not None and run.state is RunState.RUNNING and run.attempt == 1 and run.started_at
    assert run.lease_owner and run.lease_expires_at and run.lease_expires_at > utcnow()
    events = store.runs.events(run.id)
    assert [e.to_state for e in events] == [RunState.PENDING, RunState.RUNNING]
    assert events[-1].data == {"worker": run.lease_owner}


def test_claims_take_the_oldest_first_and_respect_a_concurrency_limit(store: Store) -> None:
    limited = make_process(store, settings={"max_concurrency": 2})
    other = make_process(store)
    older = make_runs(store, 3, process=other)
    capped = make_runs(store, 4, process=limited)
    newer = make_runs(store, 2, process=other)
    first = [r.id for r in store.execution.claim("w", limit=4, lease_s=30)]
    assert first == [*older, capped[0]]  # the oldest of all, the limited one inside its free slots
    second = [r.id for r in store.execution.claim("w", limit=10, lease_s=30)]
    assert second == [capped[1], *newer]  # one slot left for the limited process
    assert store.execution.claim("w", limit=10, lease_s=30) == []
    [ok] = store.execution.finish([Outcome(capped[0], 1, RunState.SUCCEEDED, outputs=[])])
    assert ok and [r.id for r in store.execution.claim("w", limit=10, lease_s=30)] == [capped[2]]


def test_outcomes_are_fenced_by_attempt_and_lost_workers_are_recovered(store: Store) -> None:
    [run_id] = make_runs(store, 1)
    [first] = store.execution.claim("zombie", limit=1, lease_s=30)
    # The zombie stops heart-beating; its lease runs out and recovery hands the run back.
    assert store.execution.recover(now=utcnow() + timedelta(seconds=31)) == [(run_id, RunState.PENDING)]
    [second] = store.execution.claim("healthy", limit=1, lease_s=30)
    assert second.attempt == first.attempt + 1 == 2
    assert store.execution.finish([Outcome(run_id, first.attempt, RunState.FAILED)]) == [False]  # fenced
    assert store.execution.heartbeat("zombie", [run_id], lease_s=30) == {}
    assert store.execution.heartbeat("healthy", [run_id], lease_s=30) == {run_id: False}
    outputs = [{"name": "total", "value": 42}]
    lines = [{"text": "one", "line": 2}, {"text": "two", "line": 3}]
    [ok] = store.execution.finish(
        [Outcome(run_id, second.attempt, RunState.SUCCEEDED, outputs=outputs, log=lines)]
    )
    run = store.runs.get(run_id)
    assert ok and run is not None and run.state is RunState.SUCCEEDED and run.outputs == outputs
    assert run.finished_at and run.lease_owner is None and run.lease_expires_at is None
    kinds = [(e.kind, e.to_state, e.attempt) for e in store.runs.events(run_id)]
    assert ("attempt_lost", RunState.PENDING, 1) in kinds and kinds[-1] == ("state", RunState.SUCCEEDED, 2)
    assert [e.data for e in store.runs.events(run_id) if e.kind == "log"] == lines
    # A finished run moves no more: neither another outcome nor a cancel.
    assert store.execution.finish([Outcome(run_id, 2, RunState.FAILED)]) == [False]
    with pytest.raises(Conflict):
        store.execution.cancel(run_id)


def test_a_run_fails_after_its_last_attempt_is_lost(store: Store) -> None:
    [run_id] = make_runs(store, 1)  # max_attempts=2
    for _ in range(2):
        store.execution.claim("w", limit=1, lease_s=1)
        store.execution.recover(now=utcnow() + timedelta(seconds=2))
    run = store.runs.get(run_id)
    assert run is not None and run.state is RunState.FAILED and run.finished_at
    assert run.error is not None and "lost 2 times" in run.error["message"]
    assert store.execution.claim("w", limit=1, lease_s=1) == []


def test_cancel_stops_a_pending_run_and_asks_a_running_one_after_commit(store: Store) -> None:
    pending, running = make_runs(store, 2)
    store.execution.claim("w", limit=1, lease_s=30)  # claims the older one
    told: list[str] = []
    store.database.cancel_listeners.append(told.append)  # type: ignore[attr-defined]
    cancelled = store.execution.cancel(running)  # the newer one was still pending
    assert cancelled.state is RunState.CANCELLED and cancelled.finished_at and told == []
    asked = store.execution.cancel(pending)
    assert asked.state is RunState.RUNNING and asked.cancel_requested and told == [pending]
    assert store.execution.heartbeat("w", [pending], lease_s=30) == {pending: True}
    assert store.execution.finish([Outcome(pending, 1, RunState.CANCELLED)]) == [True]
    with pytest.raises(Conflict):
        store.execution.cancel(pending)
    with pytest.raises(NotFound):
        store.execution.cancel("nope")


def test_new_runs_wake_listeners_after_commit(store: Store) -> None:
    woken: list[int] = []
    listeners = store.database.new_run_listeners  # type: ignore[attr-defined]
    listeners.append(lambda: woken.append(len(store.execution.claim("w", limit=10, lease_s=5))))
    make_runs(store, 3)
    assert woken == [3]  # the listener ran after the commit, so the runs were already visible


def test_a_run_handed_back_at_shutdown_keeps_its_attempts(store: Store) -> None:
    [run_id] = make_runs(store, 1)  # max_attempts=2
    store.execution.claim("leaving", limit=1, lease_s=30)
    assert store.execution.hand_back("other", [run_id]) == []
    assert store.execution.hand_back("leaving", [run_id]) == [run_id]
    run = store.runs.get(run_id)
    assert run is not None and run.state is RunState.PENDING and run.max_attempts == 3
    [again] = store.execution.claim("next", limit=1, lease_s=30)
    assert again.attempt == 2 and again.max_attempts - again.attempt == 1
    assert [e.kind for e in store.runs.events(run_id)][-2:] == ["handed_back", "state"]


def test_a_parked_parent_wakes_when_its_last_child_ends(store: Store) -> None:
    process = make_process(store)
    [parent] = make_runs(store, 1, process=process)
    [claimed] = store.execution.claim("w", limit=1, lease_s=30)
    kids = new_runs(store, 2, process=process, parent_run_id=parent)
    waiting = {"journal": [], "waiting_for": [k.id for k in kids]}
    parked = Outcome(parent, claimed.attempt, RunState.WAITING, exec_state=waiting, children=kids)
    assert store.execution.finish([parked]) == [True]
    assert _state(store, parent) is RunState.WAITING
    assert [r.id for r in store.runs.children(parent)] == [k.id for k in kids]
    a, b = store.execution.claim("w", limit=5, lease_s=30)
    store.execution.finish([Outcome(a.id, 1, RunState.SUCCEEDED, outputs=[], parent_run_id=parent)])
    assert _state(store, parent) is RunState.WAITING  # one child still runs
    store.execution.finish([Outcome(b.id, 1, RunState.FAILED, error={"message": "x"}, parent_run_id=parent)])
    woken = store.runs.get(parent)
    assert woken is not None and woken.state is RunState.PENDING and woken.max_attempts == 3
    assert store.runs.events(parent)[-1].data == {"reason": "child runs ended", "runs": [k.id for k in kids]}


def test_cancelling_a_parent_cancels_its_descendants(store: Store) -> None:
    process = make_process(store)
    [parent] = make_runs(store, 1, process=process)
    [child] = make_runs(store, 1, process=process, parent_run_id=parent)
    [grandchild] = make_runs(store, 1, process=process, parent_run_id=child)
    [claimed] = store.execution.claim("w", limit=1, lease_s=30)  # the parent
    assert claimed.id == parent
    store.execution.cancel(parent)
    assert _state(store, child) is RunState.CANCELLED and _state(store, grandchild) is RunState.CANCELLED
    events = store.runs.events(grandchild)
    assert events[-1].data == {"reason": "its parent run was cancelled"}


def test_outcomes_written_together_are_fenced_each_and_set_what_each_gives(store: Store) -> None:
    a, b, c, d, e = make_runs(store, 5)
    assert len(store.execution.claim("w", limit=5, lease_s=30)) == 5
    total, half = [{"name": "total", "value": 1}], [{"name": "half", "value": 2}]
    failed, asked = {"kind": "x", "message": "no"}, {"kind": "question", "message": "which?"}
    written = store.execution.finish(
        [
            Outcome(a, 1, RunState.SUCCEEDED, outputs=total),
            Outcome(b, 1, RunState.FAILED, error=failed, outputs=half),
            Outcome(c, 2, RunState.SUCCEEDED, outputs=total),  # not its attempt: fenced out
            Outcome(d, 1, RunState.AWAITING_GUIDANCE, error=asked, exec_state={"step": 3}),
            Outcome(e, 1, RunState.CANCELLED, event_data={"reason": "cancelled by a person"}),
            Outcome(a, 1, RunState.FAILED, error=failed),  # a's second outcome: the first ended it
        ]
    )
    assert written == [True, True, False, True, True, False]
    runs = store.runs.get_many([a, b, c, d, e])
    got = {rid: (run.state, run.outputs, run.error, run.finished_at is not None) for rid, run in runs.items()}
    assert got == {
        a: (RunState.SUCCEEDED, total, None, True),
        b: (RunState.FAILED, half, failed, True),
        c: (RunState.RUNNING, None, None, False),
        d: (RunState.AWAITING_GUIDANCE, None, asked, False),
        e: (RunState.CANCELLED, None, None, True),
    }
    assert runs[d].exec_state == {"step": 3} and runs[c].lease_owner == "w" and runs[a].lease_owner is None
    assert [ev.to_state for ev in store.runs.events(a)] == [
        RunState.PENDING,
        RunState.RUNNING,
        RunState.SUCCEEDED,
    ]
    assert store.runs.events(c)[-1].to_state is RunState.RUNNING
