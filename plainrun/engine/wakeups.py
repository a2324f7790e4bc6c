"""How an idle worker learns at once that there is work: in-process callbacks, LISTEN/NOTIFY on
PostgreSQL, and wake sockets on SQLite (for runs started by other processes on the same file).

Listeners deliver into the worker's event loop; polling stays only as a slow fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg

from plainrun.store.postgres import CANCEL_CHANNEL, RUNS_CHANNEL, PostgresStore
from plainrun.store.sql import SqlStore
from plainrun.store.sqlite import SqliteStore
from plainrun.store.wake import CANCEL, WakeReceiver

log = logging.getLogger(__name__)


class Wakeups:
    """Wires a store's notifications to ``on_new_runs()`` and ``on_cancel(run_id)`` in one loop."""

    def __init__(self, store: SqlStore, on_new_runs: Callable[[], None], on_cancel: Callable[[str], None]):
        self.store = store
        self.on_new_runs = on_new_runs
        self.on_cancel = on_cancel
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._receiver: WakeReceiver | None = None

    def _from_thread_new(self) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.on_new_runs)

    def _from_thread_cancel(self, run_id: str) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.on_cancel, run_id)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.store.new_run_listeners.append(self._from_thread_new)
        self.store.cancel_listeners.append(self._from_thread_cancel)
        if isinstance(self.store, PostgresStore):
            self._task = asyncio.create_task(self._listen(self.store.psycopg_dsn), name="plainrun-listen")
        elif isinstance(self.store, SqliteStore) and self.store.database_path:
            try:
                self._receiver = WakeReceiver(self.store.database_path)
            except OSError as exc:
                log.warning(
                    "no wake socket; polling", extra={"action": "wake_unavailable", "error": str(exc)}
                )
            else:
                self._loop.add_reader(self._receiver.fileno(), self._on_wake)

    def _on_wake(self) -> None:
        assert self._receiver is not None
        new = False
        for message in self._receiver.read():
            if message.startswith(CANCEL):
                self.on_cancel(message[1:].decode(errors="replace"))
            else:
                new = True
        if new:
            self.on_new_runs()

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.new_run_listeners.remove(self._from_thread_new)
        with contextlib.suppress(ValueError):
            self.store.cancel_listeners.remove(self._from_thread_cancel)
        if self._receiver is not None:
            assert self._loop is not None
            self._loop.remove_reader(self._receiver.fileno())
            self._receiver.close()
            self._receiver = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self, dsn: str) -> None:
        delay = 0.2
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {RUNS_CHANNEL}")
                    await conn.execute(f"LISTEN {CANCEL_CHANNEL}")
                    delay = 0.2
                    self.on_new_runs()  # anything that arrived while we were not listening
                    async for note in conn.notifies():
                        if note.channel == RUNS_CHANNEL:
                            self.on_new_runs()
                        else:
                            self.on_cancel(note.payload)
            except asyncio.CancelledError:
                raise
            except psycopg.Error as exc:
                log.warning("listen connection lost", extra={"action": "listen_lost", "error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
