"""Writers of several processes on one SQLite file: they queue on the writers' lock, and a call made
on an event loop (``Store.call``, ``runs.create_async``) never waits for it but goes to a thread."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from plainrun.store import Store, open_store
from plainrun.store.database import WouldBlock
from plainrun.store.sqlite import SqliteDatabase
from tests.contract.conftest import make_process, make_runs, new_runs

# Another process: opens the store and holds a write transaction for HOLD_S seconds.
HOLD_S = 0.5
OTHER = """
import sys, time
from plainrun.store import open_store
store = open_store(sys.argv[1])
with store.database.write():
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
store.dispose()
"""


@contextlib.contextmanager
def another_process_writing(url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding a write transaction on the store's file for HOLD_S seconds."""
    with subprocess.Popen(
        [sys.executable, "-c", OTHER, url, str(HOLD_S)], stdout=subprocess.PIPE, text=True
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
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    store = open_store(sqlite_url)
    store.create_schema()
    yield store
    store.dispose()


def test_a_writer_waits_for_another_process_and_a_loop_call_goes_to_a_thread(
    sqlite_store: Store, sqlite_url: str
) -> None:
    store = sqlite_store
    database = store.database  # type: ignore[attr-defined]
    assert isinstance(database, SqliteDatabase)
    make_runs(store, 1)
    with another_process_writing(sqlite_url):
        # On the loop (no_waiting), a write refuses to wait and writes nothing ...
        with database.no_waiting(), pytest.raises(WouldBlock):
            store.execution.claim("w", limit=10, lease_s=10)

        # ... so Store.call makes it in a thread, where it waits for the other process's commit.
        async def claim() -> tuple[list[Any], float]:
            started = time.monotonic()
            async with loop_ticks() as ticks:
                runs = await store.call(lambda: store.execution.claim("w", limit=10, lease_s=10))
            assert ticks[0] > 10, "the loop was blocked while the call waited"
            return runs, time.monotonic() - started

        runs, waited = asyncio.run(claim())
        assert len(runs) == 1 and waited > HOLD_S / 2
    # Nothing holds the lock now: a loop call is made right there, no thread; so are reads, on
    # connections of each thread's own (in WAL mode a reader never waits).
    with database.no_waiting():
        assert store.execution.claim("w", limit=10, lease_s=10) == []
        run = store.runs.get(runs[0].id)
        assert run is not None and store.agents.get(run.agent_id) is not None


def test_runs_started_while_another_process_writes_wait_in_one_thread_not_on_the_loop(
    sqlite_store: Store, sqlite_url: str
) -> None:
    store = sqlite_store
    process = make_process(store)
    with another_process_writing(sqlite_url):

        async def start_while_held() -> tuple[list[Any], int]:
            async with loop_ticks() as ticks:
                first = asyncio.create_task(store.runs.create_async(new_runs(store, 1, process=process)))
                await asyncio.sleep(0.1)  # the first batch now waits for the lock in a thread
                later = [store.runs.create_async(new_runs(store, 1, process=process)) for _ in range(5)]
                runs = await asyncio.gather(first, *later)
            return runs, ticks[0]

        runs, ticks = asyncio.run(start_while_held())
        assert ticks > 10, "the loop was blocked while the runs waited"
    assert all(store.runs.get(r.id) is not None for (r,) in runs)


def test_runs_started_in_one_turn_of_the_loop_share_one_transaction(store: Store) -> None:
    """On both databases: on the loop for SQLite, in a thread for PostgreSQL."""
    process = make_process(store)
    database = store.database  # type: ignore[attr-defined]
    transactions = 0
    write = database.write

    @contextlib.contextmanager
    def counted() -> Iterator[Any]:
        nonlocal transactions
        transactions += 1
        with write() as tx:
            yield tx

    database.write = counted
    callers = [new_runs(store, 2, process=process) for _ in range(20)]

    async def start_all() -> list[Any]:
        return await asyncio.gather(*(store.runs.create_async(c) for c in callers))

    try:
        results = asyncio.run(start_all())
    finally:
        database.write = write
    assert transactions == 1
    assert [[r.id for r in runs] for runs in results] == [[n.id for n in c] for c in callers]
