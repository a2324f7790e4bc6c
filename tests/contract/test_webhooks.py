"""Webhooks in the store: the outbox written with the run's change, the claim, the attempts."""

from __future__ import annotations

import threading
from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.processes import Process
from plainrun.domain.runs import Outcome, RunState
from plainrun.domain.webhooks import EVENTS, Attempt, DeliveryState, Subscription, new_secret
from plainrun.store import Store
from tests.contract.conftest import SOURCE, make_process, make_runs, new_runs


def subscribe(
    store: Store, process: Process, *, every_process: bool = False, events: tuple[str, ...] = EVENTS
) -> Subscription:
    return store.webhooks.create(
        Subscription(
            id=ids.new_id(),
            agent_id=process.agent_id,
            process_id=None if every_process else process.id,
            url="https://example.com/hook",
            events=events,
            description="",
            created_at=utcnow(),
            secret=new_secret(),
        )
    )


def test_each_told_move_writes_one_delivery_per_wanting_subscription(store: Store) -> None:
    process = make_process(store)
    everything = subscribe(store, process, every_process=True)
    only_ends = subscribe(store, process, events=("run.succeeded", "run.cancelled"))
    other = make_process(store)  # another agent: hears nothing of these runs
    subscribe(store, other, every_process=True)
    ok, paused, cancelled = (r.id for r in store.runs.create(new_runs(store, 3, process=process)))
    store.execution.claim("w", limit=2, lease_s=30)
    assert store.webhooks.deliveries(everything.id) == []  # a claim is not told
    assert store.execution.finish(
        [Outcome(ok, 1, RunState.SUCCEEDED), Outcome(paused, 1, RunState.AWAITING_GUIDANCE)]
    ) == [True, True]
    store.execution.cancel(cancelled)
    told = {(d.run_id, d.event) for d in store.webhooks.deliveries(everything.id)}
    assert told == {(ok, "run.succeeded"), (paused, "run.waiting_for_guidance"), (cancelled, "run.cancelled")}
    assert {(d.run_id, d.event) for d in store.webhooks.deliveries(only_ends.id)} == {
        (ok, "run.succeeded"),
        (cancelled, "run.cancelled"),
    }
    [first] = [d for d in store.webhooks.deliveries(everything.id) if d.run_id == ok]
    assert first.state is DeliveryState.PENDING and first.attempts == 0 and first.agent_id == process.agent_id
    sent = orjson.loads(first.body)
    assert sent["type"] == "run.succeeded" and sent["data"]["run_id"] == ok
    assert sent["data"]["state"] == "Succeeded" and sent["data"]["process_id"] == process.id
    # Guidance saying stop, and a lost worker's last attempt, are told too.
    assert store.guidance.stop(paused, attempt=1, error={"message": "no"}, event_data={}) is True
    [lost] = make_runs(store, 1, process=process)
    for _ in range(2):
        store.execution.claim("w", limit=1, lease_s=1)
        store.execution.recover(now=utcnow() + timedelta(seconds=2))
    failed = {d.run_id for d in store.webhooks.deliveries(everything.id) if d.event == "run.failed"}
    assert failed == {paused, lost}


def test_a_finish_tells_only_the_subscriptions_that_cover_its_run(store: Store) -> None:
    """The fenced finish returns, for each run it writes, whether a subscription covers it
    (``HEARD``), and only those runs are looked up: a run of the agent's other process, or of an
    agent nobody subscribed to, is told to nobody, finished alone (the plain statement) or with
    others (one ``UPDATE … CASE``)."""
    process = make_process(store)
    subscription = subscribe(store, process)  # this process only
    sibling = store.processes.create(agent_id=process.agent_id, name="q", source=SOURCE, settings={})
    unheard = make_process(store)  # an agent without subscriptions
    mine, theirs, nobodys = (make_runs(store, 2, process=p) for p in (process, sibling, unheard))
    store.execution.claim("w", limit=6, lease_s=30)
    for run_id in (mine[0], theirs[0], nobodys[0]):  # one at a time
        assert store.execution.finish([Outcome(run_id, 1, RunState.SUCCEEDED)]) == [True]
    together = [Outcome(run_id, 1, RunState.FAILED) for run_id in (nobodys[1], mine[1], theirs[1])]
    assert store.execution.finish(together) == [True, True, True]
    told = {(d.run_id, d.event) for d in store.webhooks.deliveries(subscription.id)}
    assert told == {(mine[0], "run.succeeded"), (mine[1], "run.failed")}
    everything = subscribe(store, unheard, every_process=True)  # heard from now on
    [later] = make_runs(store, 1, process=unheard)
    store.execution.claim("w", limit=1, lease_s=30)
    assert store.execution.finish([Outcome(later, 1, RunState.SUCCEEDED)]) == [True]
    assert [d.run_id for d in store.webhooks.deliveries(everything.id)] == [later]


def test_a_fenced_out_outcome_tells_nothing(store: Store) -> None:
    process = make_process(store)
    subscription = subscribe(store, process)
    [run_id] = make_runs(store, 1, process=process)
    store.execution.claim("w", limit=1, lease_s=30)
    assert store.execution.finish([Outcome(run_id, 7, RunState.SUCCEEDED)]) == [False]
    assert store.webhooks.deliveries(subscription.id) == []


def test_the_outbox_commits_with_the_change_or_neither_does(store: Store) -> None:
    process = make_process(store)
    subscribe(store, process)
    [run_id] = make_runs(store, 1, process=process)
    store.execution.claim("w", limit=1, lease_s=30)
    with store.database.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.text("DROP TABLE webhook_attempts"))
        conn.execute(sa.text("DROP TABLE webhook_deliveries"))
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises, the change is undone
        store.execution.finish([Outcome(run_id, 1, RunState.SUCCEEDED)])
    run = store.runs.get(run_id)
    assert run is not None and run.state is RunState.RUNNING
    assert [e.to_state for e in store.runs.events(run_id)][-1] is RunState.RUNNING


def test_due_deliveries_are_claimed_once_and_their_attempts_recorded_fenced(store: Store) -> None:
    process = make_process(store)
    subscription = subscribe(store, process)
    run_ids = make_runs(store, 6, process=process)
    store.execution.claim("w", limit=6, lease_s=30)
    store.execution.finish([Outcome(r, 1, RunState.SUCCEEDED) for r in run_ids])
    now = utcnow() + timedelta(seconds=1)
    assert store.webhooks.has_due(now)
    claimed: list[list[str]] = []
    barrier = threading.Barrier(3)

    def claim() -> None:
        barrier.wait()
        claimed.append([d.id for d, _ in store.webhooks.claim(now=now, limit=6, lease_s=60)])

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everyone = [i for batch in claimed for i in batch]
    assert len(everyone) == len(set(everyone)) == 6  # each once, whoever took it
    assert not store.webhooks.has_due(now) and store.webhooks.has_due(now + timedelta(seconds=61))
    [(delivery, sub)] = store.webhooks.claim(now=now + timedelta(seconds=61), limit=1, lease_s=60)
    assert sub.secret == subscription.secret and sub.url == subscription.url
    failed = Attempt(at=now, status_code=500, response="oops", duration_ms=3, error=None)
    assert store.webhooks.record(delivery, failed, retry_at=now + timedelta(seconds=5)) is True
    # A second record of the same claim (a deliverer that lost its lease) changes nothing.
    assert store.webhooks.record(delivery, failed, retry_at=now) is False
    again = store.webhooks.delivery(delivery.id)
    assert again is not None and again.state is DeliveryState.PENDING and again.attempts == 1
    assert again.next_at == now + timedelta(seconds=5) and again.last_status == 500
    ok = Attempt(at=now, status_code=204, response="", duration_ms=2, error=None)
    assert store.webhooks.record(again, ok, retry_at=None) is True
    done = store.webhooks.delivery(delivery.id)
    assert done is not None and done.state is DeliveryState.DELIVERED and done.ended_at == now
    assert [a.status_code for a in store.webhooks.attempts([delivery.id])[delivery.id]] == [500, 204]
    assert store.webhooks.pending() == 5


def test_subscriptions_page_newest_first_and_delete_with_their_deliveries(store: Store) -> None:
    process = make_process(store)
    first, second = subscribe(store, process), subscribe(store, process, every_process=True)
    assert [s.id for s in store.webhooks.page(process.agent_id)] == [second.id, first.id]
    assert [s.id for s in store.webhooks.page(process.agent_id, before_id=second.id)] == [first.id]
    assert [s.id for s in store.webhooks.page(process.agent_id, process_id=process.id)] == [first.id]
    [run_id] = make_runs(store, 1, process=process)
    store.execution.cancel(run_id)
    [(delivery, _)] = store.webhooks.claim(now=utcnow(), limit=1, lease_s=60)
    failed = Attempt(at=utcnow(), status_code=None, response="", duration_ms=1, error="could not be reached")
    store.webhooks.record(delivery, failed, retry_at=None)
    assert store.webhooks.delete(first.id) and store.webhooks.delete(second.id)
    assert store.webhooks.get(first.id) is None and store.webhooks.delivery(delivery.id) is None
    assert not store.webhooks.delete(first.id)
