"""Writers of several processes on one SQLite file: they queue on the writers' lock, and a call made
on an event loop (``call_store``, ``LoopGroupCommit``) never waits for it but goes to a thread."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from plainrun import ids
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import PlainrunError
from plainrun.store.records import NewRun
from plainrun.store.sql import LoopGroupCommit, SqlStore, WouldBlock, call_store, utcnow
from plainrun.store.sqlite import SqliteStore
from tests.integration.test_store_contract import make_runs

# Another process: opens the store and holds a write transaction for HOLD_S seconds.
HOLD_S = 0.5
OTHER = """
import sys, time
from plainrun.store.sqlite import SqliteStore
store = SqliteStore(sys.argv[1])
with store._raw_transaction():
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
store.dispose()
"""


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.create_schema()
    return store


def test_a_writer_waits_for_another_process_and_a_loop_call_goes_to_a_thread(
    sqlite_store: SqliteStore,
) -> None:
    store = sqlite_store
    make_runs(store, 1)  # the agent and process
    with subprocess.Popen(
        [sys.executable, "-c", OTHER, store.url, str(HOLD_S)], stdout=subprocess.PIPE, text=True
    ) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"
        # On the loop (no_waiting), a write refuses to wait and writes nothing ...
        with store.no_waiting(), pytest.raises(WouldBlock):
            store.claim_runs("w", limit=10, lease_s=10)

        # ... so call_store makes it in a thread, where it waits for the other process's commit.
        async def claim() -> tuple[list[object], float]:
            started = time.monotonic()
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            runs = await call_store(store, lambda: store.claim_runs("w", limit=10, lease_s=10))
            ticker.cancel()
            assert ticks > 10, "the loop was blocked while the call waited"
            return runs, time.monotonic() - started

        runs, waited = asyncio.run(claim())
        assert len(runs) == 1 and waited > HOLD_S / 2
        assert other.wait(10) == 0
        # Nothing holds the lock now: a loop call is made right there, no thread.
        with store.no_waiting():
            assert store.claim_runs("w", limit=10, lease_s=10) == []
            # The hot reads have connections of their own; others (through the reader pool,
            # which threads may have emptied) refuse to wait here too.
            run = store.get_run(runs[0].id)  # type: ignore[attr-defined]
            assert run is not None
            with pytest.raises(WouldBlock):
                store.get_agent(run.agent_id)
    store.dispose()


def _new_runs(store: SqlStore, process_id: str, n: int) -> list[NewRun]:
    process = store.get_process(process_id)
    assert process is not None
    return [
        NewRun(
            id=ids.new_id(),
            agent_id=process.agent_id,
            process_id=process.id,
            name=f"run {i}",
            stage=Stage.DRAFT,
            version=1,
            sha256=process.draft_sha256,
            inputs=[],
            file_ids=[],
            trigger=Trigger.API,
            max_attempts=2,
            timeout_s=60.0,
            created_at=utcnow(),
        )
        for i in range(n)
    ]


def test_runs_started_in_one_turn_share_a_transaction_and_a_refused_caller_fails_alone(
    store: SqlStore,
) -> None:
    """On both databases (on the loop for SQLite, in a thread for PostgreSQL)."""
    process_id = store.get_run(make_runs(store, 1)[0]).process_id  # type: ignore[union-attr]
    transactions = 0
    insert = store._insert_runs

    def counted(rows: list[dict[str, Any]]) -> None:
        nonlocal transactions
        transactions += 1
        insert(rows)

    store._insert_runs = counted  # type: ignore[method-assign]
    group = LoopGroupCommit(store)

    async def start_many(callers: list[list[NewRun]]) -> list[Any]:
        return await asyncio.gather(*(group.create_runs(c) for c in callers), return_exceptions=True)

    callers = [_new_runs(store, process_id, 2) for _ in range(20)]
    results = asyncio.run(start_many(callers))
    assert transactions == 1
    assert [[r.id for r in runs] for runs in results] == [[n.id for n in c] for c in callers]
    assert all(store.get_run(n.id) is not None for c in callers for n in c)

    # One caller's run names a process that does not exist: that caller fails, the others do not.
    bad = _new_runs(store, process_id, 1)
    bad[0] = dataclasses.replace(bad[0], process_id=ids.new_id())
    callers = [_new_runs(store, process_id, 1), bad, _new_runs(store, process_id, 1)]
    results = asyncio.run(start_many(callers))
    assert isinstance(results[1], PlainrunError)
    assert store.get_run(bad[0].id) is None
    for i in (0, 2):
        assert [r.id for r in results[i]] == [callers[i][0].id]
        assert store.get_run(callers[i][0].id) is not None


def test_runs_started_while_another_process_writes_wait_in_one_thread_not_on_the_loop(
    sqlite_store: SqliteStore,
) -> None:
    store = sqlite_store
    process_id = store.get_run(make_runs(store, 1)[0]).process_id  # type: ignore[union-attr]
    group = LoopGroupCommit(store)
    with subprocess.Popen(
        [sys.executable, "-c", OTHER, store.url, str(HOLD_S)], stdout=subprocess.PIPE, text=True
    ) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"

        async def start_while_held() -> tuple[list[Any], int]:
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            first = asyncio.create_task(group.create_runs(_new_runs(store, process_id, 1)))
            await asyncio.sleep(0.1)  # the first batch now waits for the lock in a thread
            later = [group.create_runs(_new_runs(store, process_id, 1)) for _ in range(5)]
            runs = await asyncio.gather(first, *later)
            ticker.cancel()
            return runs, ticks

        runs, ticks = asyncio.run(start_while_held())
        assert ticks > 10, "the loop was blocked while the runs waited"
        assert other.wait(10) == 0
    assert all(store.get_run(r.id) is not None for (r,) in runs)
    store.dispose()
