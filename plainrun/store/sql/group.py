"""The group commit: runs started at about the same time are written in one transaction.

Every way of starting runs ends here (``RunsSql.create`` and ``create_async``), from threads and
from event loops alike. Callers queue their runs; one writer takes everything queued and writes it
in one transaction (one commit, one fsync), then hands over to the next: so under load, concurrent
starts share commits, and when idle a start is written at once.

- A thread queues its runs and waits for the writer's turn (``_leader``); if nobody wrote its runs
  meanwhile, it writes the whole queue itself.
- On an event loop, the runs that come during one turn of the loop are written together at the end
  of that turn, right there when the database can be written without waiting (see
  ``Database.call``), else by one thread that waits for its turn as threads do.

If a shared transaction is refused (a caller's rows break a constraint), each caller's runs are
written alone, so one caller's refused runs fail that caller only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

from plainrun.errors import PlainrunError
from plainrun.store.database import Database

T = TypeVar("T")
R = TypeVar("R")


class _Entry(Generic[T, R]):
    """One caller's items, and what became of them."""

    __slots__ = ("done", "error", "future", "items", "loop", "result")

    def __init__(self, items: T, loop: asyncio.AbstractEventLoop | None = None):
        self.items = items
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None
        self.loop = loop
        self.future: asyncio.Future[R] | None = loop.create_future() if loop is not None else None

    def settle(self, result: R | None, error: BaseException | None) -> None:
        self.result, self.error, self.done = result, error, True
        if self.future is None or self.loop is None:
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self.loop:
            self._resolve()
        else:
            self.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        future = self.future
        if future is None or future.done():  # its caller went away
            return
        if self.error is not None:
            future.set_exception(self.error)
        else:
            future.set_result(self.result)  # type: ignore[arg-type]


class GroupCommit(Generic[T, R]):
    """``write(items_of_each_caller)`` writes them all in one transaction and returns each caller's
    result, in order."""

    def __init__(self, database: Database, write: Callable[[Sequence[T]], list[R]]):
        self.database = database
        self._write = write
        self._queue: list[_Entry[T, R]] = []
        self._lock = threading.Lock()  # guards the queue
        self._leader = threading.Lock()  # the writer's turn
        self._flush_scheduled = False
        self._loop_draining = False  # a thread writes for the loop's callers: the rest gather meanwhile

    def submit(self, items: T) -> R:
        """From a thread: the items written, with whoever else is queued."""
        (result,) = self.submit_each([items])
        if isinstance(result, PlainrunError):
            raise result
        return result

    def submit_each(self, callers: Sequence[T]) -> list[R | PlainrunError]:
        """From a thread: several callers' items at once, each written or refused on its own."""
        entries: list[_Entry[T, R]] = [_Entry(items) for items in callers]
        with self._lock:
            self._queue.extend(entries)
        self._drain()
        out: list[R | PlainrunError] = []
        for entry in entries:
            if entry.error is not None and not isinstance(entry.error, PlainrunError):
                raise entry.error
            out.append(entry.error if entry.error is not None else entry.result)  # type: ignore[arg-type]
        return out

    async def submit_async(self, items: T, executor: Executor | None = None) -> R:
        """From an event loop: written with what else comes during this turn of the loop."""
        loop = asyncio.get_running_loop()
        entry: _Entry[T, R] = _Entry(items, loop)
        with self._lock:
            self._queue.append(entry)
            schedule = not self._flush_scheduled
            self._flush_scheduled = True
        if schedule:
            loop.call_soon(self._flush_on_loop, loop, executor)
        assert entry.future is not None
        return await entry.future

    # --- writing -------------------------------------------------------------------------------

    def _take(self) -> list[_Entry[T, R]]:
        with self._lock:
            batch, self._queue = self._queue, []
        return batch

    def _drain(self) -> None:
        """In a thread: wait for the writer's turn, then write whatever is still queued."""
        with self._leader:
            batch = self._take()
            if batch:
                self._write_split(batch)

    def _drain_for_loop(self, loop: asyncio.AbstractEventLoop, executor: Executor | None) -> None:
        """In a thread, for the loop's callers; what came meanwhile is flushed on the loop next."""
        try:
            self._drain()
        finally:
            with self._lock:
                self._loop_draining = False
                again = bool(self._queue) and not self._flush_scheduled
                self._flush_scheduled = self._flush_scheduled or again
            if again:
                loop.call_soon_threadsafe(self._flush_on_loop, loop, executor)

    def _flush_on_loop(self, loop: asyncio.AbstractEventLoop, executor: Executor | None) -> None:
        with self._lock:
            self._flush_scheduled = False
            if self._loop_draining:  # that thread's next turn, or the flush after it, takes these
                return
        if self.database.inline_ok and self._leader.acquire(blocking=False):
            try:
                batch = self._take()
                if not batch:
                    return
                try:
                    with self.database.no_waiting():  # all or nothing here
                        results = self._write([e.items for e in batch])
                except Exception:  # the lock is taken, a caller refused: the thread sorts them out
                    with self._lock:
                        self._queue[:0] = batch
                else:
                    for entry, result in zip(batch, results, strict=True):
                        entry.settle(result, None)
                    return
            finally:
                self._leader.release()
        with self._lock:
            self._loop_draining = True
        loop.run_in_executor(executor, self._drain_for_loop, loop, executor)

    def _write_split(self, batch: list[_Entry[T, R]]) -> None:
        try:
            results = self._write([e.items for e in batch])
        except PlainrunError as exc:
            if len(batch) == 1:
                batch[0].settle(None, exc)
                return
            for entry in batch:  # one caller's refused items must not fail the others'
                self._write_split([entry])
            return
        except Exception as exc:  # a failure of the code, not a refusal: every caller sees it
            for entry in batch:
                entry.settle(None, exc)
            return
        for entry, result in zip(batch, results, strict=True):
            entry.settle(result, None)
