"""Live log lines: what a running attempt logs reaches the database while it runs, not with its outcome.

A line waits at most ``DELAY`` seconds in the executor process: a thread of the attempt (started
by its first line) writes, once the oldest waiting line is ``DELAY`` seconds old, every line
waiting, in one transaction (``store.execution.log``, fenced on the attempt still running). An
attempt that ends sooner writes its lines with its outcome, as before, so a short run costs no
extra write (the hot path of many small runs is untouched); a long one costs at most one write per
``DELAY``. A cancelled or timed-out attempt keeps what was written before it was stopped.
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
    """The log lines of one attempt, written in batches while it runs.

    ``warm`` is called once, on the writing thread, as soon as the first line arrives: it opens the
    store (the first time in an executor process that costs importing the database layer, which a
    run that never logs never pays), beside the run's own work rather than after its ``delay``.
    """

    def __init__(
        self, write: Callable[[Lines], bool], delay: float = DELAY, warm: Callable[[], object] | None = None
    ):
        self._write = write
        self._warm = warm
        self._delay = delay
        self._pending: list[tuple[datetime, dict[str, Any]]] = []
        self._first = 0.0  # when the oldest pending line was logged (monotonic)
        self._changed = threading.Condition()  # guards _pending, _first, _closed, _thread
        self._writing = threading.Lock()  # held while a batch is written
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, text: str) -> None:
        with self._changed:
            if not self._pending:
                self._first = time.monotonic()
                self._changed.notify()
            self._pending.append((datetime.now(UTC), {"text": text}))
            if self._thread is None and not self._closed:
                thread = threading.Thread(target=self._loop, name="plainrun-live-log", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # no thread to be had (a memory limit): the outcome writes them
                    self._closed = True
                    return
                self._thread = thread

    def _loop(self) -> None:
        if self._warm is not None:
            try:
                self._warm()
            except Exception:
                log.warning("live log store not opened", extra={"action": "live_log_failed"}, exc_info=True)
                return
        while True:
            with self._changed:
                while not self._closed and (
                    not self._pending or time.monotonic() < self._first + self._delay
                ):
                    wait = self._first + self._delay - time.monotonic() if self._pending else None
                    self._changed.wait(wait)
                if self._closed:
                    return
                self._writing.acquire()
                lines, self._pending = self._pending, []
            try:
                self._write(lines)
            except Exception:  # the database is away: these lines go with the outcome
                log.warning("live log lines not written", extra={"action": "live_log_failed"}, exc_info=True)
                with self._changed:
                    self._pending[:0] = lines
                    self._closed = True
            finally:
                self._writing.release()

    def close(self) -> list[dict[str, Any]]:
        """Stop writing; the lines not written yet (for the outcome), after any batch being written."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        with self._writing, self._changed:
            lines, self._pending = self._pending, []
        return [line for _, line in lines]
