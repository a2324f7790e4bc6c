"""Writers of several processes on one SQLite file: they queue on the writers' lock, and a call made
on an event loop (``call_store``, ``LoopGroupCommit``) never waits for it but goes to a thread."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from plainrun import ids
from plainrun.errors import PlainrunError
from plainrun.store.records import NewRun
from plainrun.store.sql import LoopGroupCommit, SqlStore, WouldBlock, call_store
from plainrun.store.sqlite import SqliteStore
from tests.integration.test_store_contract import make_runs, new_runs

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


@contextlib.contextmanager
def another_process_writing(store: SqliteStore) -> Iterator[subprocess.Popen[str]]:
    """Another process holding a write transaction on the store's file for HOLD_S seconds."""
    with subprocess.Popen(
        [sys.executable, "-c", OTHER, store.url, str(HOLD_S)], stdout=subprocess.PIPE, text=True
    ) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"
        yield other
        assert other.wait(10) == 0


@contextlib.asynccontextmanager
async def loop_ticks() -> AsyncIterator[list[int]]:
    """Counts the turns of a 10 ms ticker on the loop while the block runs (a blocked loop does not
    tick): ``ticks[0]``."""
    ticks = [0]

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.01)
            ticks[0] += 1

    ticker = asyncio.create_task(tick())
    try:
        yield ticks
    finally:
        ticker.cancel()


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
    with another_process_writing(store):
        # On the loop (no_waiting), a write refuses to wait and writes nothing ...
        with store.no_waiting(), pytest.raises(WouldBlock):
            store.claim_runs("w", limit=10, lease_s=10)

        # ... so call_store makes it in a thread, where it waits for the other process's commit.
        async def claim() -> tuple[list[object], float]:
            started = time.monotonic()
            async with loop_ticks() as ticks:
                runs = await call_store(store, lambda: store.claim_runs("w", limit=10, lease_s=10))
            assert ticks[0] > 10, "the loop was blocked while the call waited"
            return runs, time.monotonic() - started

        runs, waited = asyncio.run(claim())
        assert len(runs) == 1 and waited > HOLD_S / 2
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

    callers = [new_runs(store, 2, process_id=process_id) for _ in range(20)]
    results = asyncio.run(start_many(callers))
    assert transactions == 1
    assert [[r.id for r in runs] for runs in results] == [[n.id for n in c] for c in callers]
    assert all(store.get_run(n.id) is not None for c in callers for n in c)

    # One caller's run names a process that does not exist: that caller fails, the others do not.
    bad = new_runs(store, 1, process_id=process_id)
    bad[0] = dataclasses.replace(bad[0], process_id=ids.new_id())
    callers = [new_runs(store, 1, process_id=process_id), bad, new_runs(store, 1, process_id=process_id)]
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
    with another_process_writing(store):

        async def start_while_held() -> tuple[list[Any], int]:
            async with loop_ticks() as ticks:
                first = asyncio.create_task(group.create_runs(new_runs(store, 1, process_id=process_id)))
                await asyncio.sleep(0.1)  # the first batch now waits for the lock in a thread
                later = [group.create_runs(new_runs(store, 1, process_id=process_id)) for _ in range(5)]
                runs = await asyncio.gather(first, *later)
            return runs, ticks[0]

        runs, ticks = asyncio.run(start_while_held())
        assert ticks > 10, "the loop was blocked while the runs waited"
    assert all(store.get_run(r.id) is not None for (r,) in runs)
    store.dispose()
