"""Live log lines: what a running attempt logs reaches the database while it runs, not with its outcome.

A line waits at most ``DELAY`` seconds in the executor process: one thread of the process (started
with its first line) writes, once an attempt's oldest waiting line is ``DELAY`` seconds old, every
line of it waiting, in one transaction (``store.execution.log``, fenced on the attempt still
running). An attempt that ends sooner writes its lines with its outcome, as before, so a short run
costs no extra write and no thread (the hot path of many small runs is untouched); a long one
costs at most one write per ``DELAY``. A cancelled or timed-out attempt keeps what was written
before it was stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

DELAY = 0.5

Lines = Sequence[tuple[datetime, dict[str, Any]]]


class LiveLog:
    """The log lines of one attempt, written in batches while it runs."""

    def __init__(self, write: Callable[[Lines], bool], delay: float = DELAY):
        self._write = write
        self._delay = delay
        self._pending: list[tuple[datetime, dict[str, Any]]] = []
        self._lock = threading.Lock()  # guards _pending and _closed
        self._writing = threading.Lock()  # held while a batch is written
        self._closed = False

    def add(self, text: str) -> None:
        with self._lock:
            first = not self._pending
            self._pending.append((datetime.now(UTC), {"text": text}))
            if first and not self._closed and not _FLUSHER.due(self, time.monotonic() + self._delay):
                self._closed = True  # no thread to be had (a memory limit): the outcome writes them

    def flush(self) -> None:
        """Write the lines waiting (the flusher's thread calls this when they are due)."""
        with self._writing:
            with self._lock:
                if self._closed or not self._pending:
                    return
                lines, self._pending = self._pending, []
            try:
                self._write(lines)
            except Exception:  # the database is away: these lines go with the outcome
                log.warning("live log lines not written", extra={"action": "live_log_failed"}, exc_info=True)
                with self._lock:
                    self._pending[:0] = lines
                    self._closed = True

    def close(self) -> list[dict[str, Any]]:
        """Stop writing; the lines not written yet (for the outcome), after any batch being written."""
        with self._lock:
            self._closed = True
        _FLUSHER.cancel(self)
        with self._writing, self._lock:
            lines, self._pending = self._pending, []
        return [line for _, line in lines]


class _Flusher:
    """The one thread of an executor process that writes live logs when they are due."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._due: dict[LiveLog, float] = {}
        self._thread: threading.Thread | None = None
        #: When the thread wakes next of itself (monotonic). A line due no sooner needs no wake-up:
        #: the thread never sleeps longer than ``DELAY`` even with nothing due, so a short run's
        #: first line (due ``DELAY`` from now) costs no switch to this thread.
        self._wakes_at = 0.0

    def due(self, live: LiveLog, at: float) -> bool:
        """Write ``live``'s lines at ``at`` (monotonic); False when no thread can be started."""
        with self._changed:
            if self._thread is None:
                thread = threading.Thread(target=self._loop, name="plainrun-live-log", daemon=True)
                try:
                    thread.start()
                except RuntimeError:
                    return False
                self._thread = thread
            self._due.setdefault(live, at)
            if at < self._wakes_at:
                self._changed.notify()
        return True

    def cancel(self, live: LiveLog) -> None:
        with self._changed:
            self._due.pop(live, None)

    def _loop(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                if not self._due:
                    self._sleep(now, DELAY)
                    continue
                live, at = min(self._due.items(), key=lambda item: item[1])
                if at > now:
                    self._sleep(now, at - now)
                    continue
                del self._due[live]
            live.flush()

    def _sleep(self, now: float, wait: float) -> None:
        """Wait (holding ``_changed``) ``wait`` seconds at most, or until an earlier line is due."""
        self._wakes_at = now + wait
        self._changed.wait(wait)
        self._wakes_at = 0.0


_FLUSHER = _Flusher()
