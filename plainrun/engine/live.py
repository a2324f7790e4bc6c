"""Live log lines: what a running attempt logs reaches the database while it runs, not with its outcome.

A line waits at most ``DELAY`` seconds in the executor process: the first line of a quiet moment
starts a timer, and when it fires every line logged meanwhile is written in one transaction
(``store.execution.log``, fenced on the attempt still running). An attempt that ends sooner writes
its lines with its outcome, as before, so a short run costs no extra write at all (the hot path of
many small runs is untouched); a long one costs at most one write per ``DELAY``. A cancelled or
timed-out attempt keeps what was written before it was stopped.
"""

from __future__ import annotations

import logging
import threading
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
        self._lock = threading.Lock()  # guards _pending and _timer
        self._writing = threading.Lock()  # held while a batch is written
        self._timer: threading.Timer | None = None
        self._closed = False

    def add(self, text: str) -> None:
        with self._lock:
            self._pending.append((datetime.now(UTC), {"text": text}))
            if self._timer is None and not self._closed:
                timer = threading.Timer(self._delay, self._flush)
                timer.daemon = True
                try:
                    timer.start()
                except RuntimeError:  # no thread to be had (a memory limit): the outcome writes them
                    self._closed = True
                    return
                self._timer = timer

    def _flush(self) -> None:
        with self._writing:
            with self._lock:
                lines, self._pending, self._timer = self._pending, [], None
                if self._closed or not lines:
                    self._pending[:0] = lines
                    return
            try:
                self._write(lines)
            except Exception:  # the database is away: these lines go with the outcome
                log.warning("live log lines not written", extra={"action": "live_log_failed"}, exc_info=True)
                with self._lock:
                    self._pending[:0] = lines

    def close(self) -> list[dict[str, Any]]:
        """Stop writing; the lines not written yet (for the outcome), after any batch being written."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        with self._writing, self._lock:
            lines, self._pending = self._pending, []
        return [line for _, line in lines]
