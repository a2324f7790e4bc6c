"""The scheduler: an asyncio loop that fires due slots, alone (``plainrun scheduler``) or in a server.

Any number may run against one database: they coordinate only through it (each slot is fired by the
one insert that wins its unique row). Each looks for due slots, then sleeps until the earliest next
slot of any schedule, but never longer than ``max_sleep`` (1 s), so a schedule made by another
process is noticed within a second; a schedule changed in this process wakes it at once. A slot
therefore fires within about a second of its time.

Time is injectable: ``clock`` returns the current aware UTC instant (tests drive hundreds of slots
with a fake clock and a short ``max_sleep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.errors import StoreError

if TYPE_CHECKING:
    from plainrun.services.schedules import ScheduleService

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        schedules: ScheduleService,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_sleep: float = 1.0,
    ):
        self.schedules = schedules
        self.clock = clock
        self.max_sleep = max_sleep
        self.id = f"scheduler-{ids.new_id()[:10]}"
        #: Slots this scheduler fired (won), for observation.
        self.fired = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def wake(self) -> None:
        """Look for due slots now (thread-safe): a schedule changed."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(event.set)

    def tick(self) -> datetime | None:
        """Fire what is due now; the earliest next slot of any schedule afterwards."""
        fired = self.schedules.fire_due(self.clock())
        self.fired += len(fired)
        for fire in fired:
            log.info(
                "slot fired",
                extra={
                    "action": "slot_fired",
                    "scheduler": self.id,
                    "schedule": fire.schedule_id,
                    "slot": fire.slot_at.isoformat(),
                    "run": fire.run_id,
                    "error": fire.error,
                },
            )
        return self.schedules.earliest_next()

    async def run(self, stop: asyncio.Event) -> None:
        """Fire slots until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        relay = asyncio.create_task(_relay(stop, wake))
        self.schedules.listeners.append(self.wake)
        log.info("scheduler started", extra={"action": "scheduler_started", "scheduler": self.id})
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    earliest = await asyncio.to_thread(self.tick)
                except StoreError as exc:
                    log.warning("tick failed", extra={"action": "tick_failed", "error": str(exc)})
                    earliest = None
                except Exception:  # any other error: logged, and the loop goes on
                    log.exception("tick failed", extra={"action": "tick_failed"})
                    earliest = None
                delay = self.max_sleep
                if earliest is not None:
                    delay = min(delay, max(0.0, (earliest - self.clock()).total_seconds()))
                if delay > 0 and not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), delay)
        finally:
            self.schedules.listeners.remove(self.wake)
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            self._wake = None
            log.info("scheduler stopped", extra={"action": "scheduler_stopped", "scheduler": self.id})


async def _relay(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


class SchedulerThread:
    """A scheduler in a thread of its own with its own event loop (for ``plainrun serve`` and tests)."""

    def __init__(self, scheduler: Scheduler):
        self.scheduler = scheduler
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=scheduler.id, daemon=True)

    def start(self) -> SchedulerThread:
        self._thread.start()
        self._started.wait()
        return self

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            await self.scheduler.run(self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by stop()
            self._error = exc
        finally:
            self._started.set()

    def stop(self) -> None:
        """Stop the loop and wait for it; an error that ended it is raised here."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join()
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def running(scheduler: Scheduler) -> Iterator[SchedulerThread]:
    """Run a scheduler in its own thread for the duration of a ``with`` block."""
    thread = SchedulerThread(scheduler).start()
    try:
        yield thread
    finally:
        thread.stop()
