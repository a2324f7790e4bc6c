"""Idempotency keys: kept with the runs of their first request in one transaction, one winner among
concurrent first requests, expired keys replaced and swept; numbers kept exactly, of their kind."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

from plainrun.domain.clock import utcnow
from plainrun.domain.idempotency import TTL, Key, KeyRecord
from plainrun.domain.runs import NewRun
from plainrun.store import Store
from tests.contract.conftest import make_process, new_runs


def record(agent_id: str, key: str, run_ids: list[str], *, ago: timedelta = timedelta(0)) -> KeyRecord:
    return KeyRecord.first(Key(agent_id, key, "f" * 64), {"run_ids": run_ids}, utcnow() - ago)


def test_the_first_request_writes_its_runs_with_the_key_and_a_retry_writes_nothing(store: Store) -> None:
    process = make_process(store)
    first, again = new_runs(store, 1, process=process), new_runs(store, 1, process=process)
    assert store.idempotency.start(record(process.agent_id, "k-1", [first[0].id]), first) is None
    kept = store.idempotency.start(record(process.agent_id, "k-1", [again[0].id]), again)
    assert kept is not None and kept.result == {"run_ids": [first[0].id]}
    assert store.runs.get(first[0].id) is not None and store.runs.get(again[0].id) is None
    found = store.idempotency.get(process.agent_id, "k-1", now=utcnow())
    assert found == kept and found.expires_at - found.created_at == TTL
    # Keys are the agent's own: another agent's same key is another key.
    other = make_process(store)
    theirs = new_runs(store, 1, process=other)
    assert store.idempotency.start(record(other.agent_id, "k-1", [theirs[0].id]), theirs) is None


def test_concurrent_first_requests_with_one_key_start_one_run(store: Store) -> None:
    process = make_process(store)
    attempts = [new_runs(store, 1, process=process) for _ in range(8)]
    barrier = threading.Barrier(len(attempts))
    won: list[str] = []
    answers: list[dict[str, object]] = []

    def attempt(runs: list[NewRun]) -> None:
        barrier.wait()
        kept = store.idempotency.start(record(process.agent_id, "same", [runs[0].id]), runs)
        if kept is None:
            won.append(runs[0].id)
        else:
            answers.append(kept.result)

    threads = [threading.Thread(target=attempt, args=(runs,)) for runs in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(won) == 1 and answers == [{"run_ids": won}] * (len(attempts) - 1)
    written = [runs[0].id for runs in attempts if store.runs.get(runs[0].id) is not None]
    assert written == won


def test_an_expired_key_starts_afresh_and_is_swept(store: Store) -> None:
    process = make_process(store)
    old, new = new_runs(store, 1, process=process), new_runs(store, 1, process=process)
    stale = record(process.agent_id, "old", [old[0].id], ago=TTL + timedelta(minutes=1))
    assert store.idempotency.start(stale, old) is None
    assert store.idempotency.get(process.agent_id, "old", now=utcnow()) is None  # expired: absent
    assert store.idempotency.start(record(process.agent_id, "old", [new[0].id]), new) is None
    assert store.runs.get(new[0].id) is not None
    gone = new_runs(store, 1, process=process)
    store.idempotency.start(record(process.agent_id, "gone", [gone[0].id], ago=TTL * 2), gone)
    assert store.idempotency.sweep(utcnow()) == 1
    assert store.idempotency.get(process.agent_id, "old", now=utcnow()) is not None  # the live one stays


def test_whole_numbers_beyond_64_bits_are_kept_exactly(store: Store) -> None:
    # Floats of 1e16 and more too: PostgreSQL's jsonb would give them back as whole numbers.
    values = [2**64, -(2**63) - 1, 10**300 + 7, -(10**3999) + 1, 2**63 - 1, 0.1, -2.5, 1e20, -3e300, 1e16]
    [new] = new_runs(store, 1)
    inputs = [{"name": f"n{i}", "value": v} for i, v in enumerate(values)]
    [made] = store.runs.create([dataclasses.replace(new, inputs=inputs)])
    kept = store.runs.get(made.id)
    assert kept is not None and kept.inputs == inputs
    assert [type(i["value"]) for i in kept.inputs] == [int] * 5 + [float] * 5
