"""Writers of several processes on one SQLite file: they queue on the writers' lock, and a call made
on an event loop (``call_store``) never waits for it but goes to a thread instead."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plainrun.store.sql import WouldBlock, call_store
from plainrun.store.sqlite import SqliteStore
from tests.integration.test_store_contract import make_runs

# Another process: opens the store and holds a write transaction for HOLD_S seconds.
HOLD_S = 0.5
OTHER = """
import sys, time
from plainrun.store.sqlite import SqliteStore
store = SqliteStore(sys.argv[1])
with store._raw_write() as (conn, _):
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
    store.dispose()
