"""A database backend: connections, transactions, how new runs and cancels are announced and heard.

``SqliteDatabase`` and ``PostgresDatabase`` are siblings below this class; the store's operations
(``plainrun.store.sql``) run on either through ``read()`` and ``write()``, which yield a :class:`Tx`.
What differs between them lives in the backends only: how a write transaction begins and who may
write at once, how workers are woken (NOTIFY, or wake sockets), what may run on an event loop.
Driver errors are translated to the store's own errors here, at the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Any, TypeVar

import sqlalchemy as sa

from plainrun.errors import PlainrunError, StoreError, StoreUnavailable
from plainrun.store.tx import Tx

log = logging.getLogger("plainrun.store")

T = TypeVar("T")


class WouldBlock(Exception):
    """A call made where it may not wait (see :meth:`Database.call`) would have to wait."""


class Database(ABC):
    """One database, thread-safe. ``fast``: run statements through ``DriverTx`` (else ``CoreTx``)."""

    dialect: str
    #: Driver errors meaning the database cannot be reached now (503), and all driver errors.
    unavailable_errors: tuple[type[BaseException], ...] = ()
    driver_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, url: str, *, fast: bool):
        self.url = url
        self.fast = fast
        #: Called (no argument, from the committing thread) when runs became pending.
        self.new_run_listeners: list[Callable[[], None]] = []
        #: Called with a run id (from the committing thread) when a running run was asked to cancel.
        self.cancel_listeners: list[Callable[[str], None]] = []

    # --- transactions ------------------------------------------------------------------------

    @abstractmethod
    def read(self) -> contextlib.AbstractContextManager[Tx]:
        """A connection for reads; each statement sees the latest committed state."""

    @abstractmethod
    def write(self) -> contextlib.AbstractContextManager[Tx]:
        """One write transaction; its ``after`` callbacks run once it committed."""

    @property
    @abstractmethod
    def engine(self) -> sa.Engine:
        """A SQLAlchemy engine on the database (migrations; the general path)."""

    @abstractmethod
    def dispose(self) -> None: ...

    @contextlib.contextmanager
    def translated(self) -> Iterator[None]:
        """Driver errors (and SQLAlchemy's wrappers of them) as the store's own."""
        try:
            yield
        except (PlainrunError, WouldBlock):
            raise
        except sa.exc.OperationalError as exc:
            raise self._unavailable(exc) from exc
        except sa.exc.DBAPIError as exc:
            raise self._refused(exc.orig or exc) from exc
        except self.unavailable_errors as exc:
            raise self._unavailable(exc) from exc
        except self.driver_errors as exc:
            raise self._refused(exc) from exc

    @staticmethod
    def _unavailable(exc: BaseException) -> StoreUnavailable:
        log.warning("database unavailable", extra={"action": "db_unavailable", "error": str(exc)})
        return StoreUnavailable("The database is unavailable right now.")

    @staticmethod
    def _refused(exc: BaseException) -> StoreError:
        log.warning("database refused", extra={"action": "db_refused", "error": str(exc)})
        return StoreError(f"The database refused the operation ({type(exc).__name__}).")

    @staticmethod
    def committed(tx: Tx) -> None:
        for callback in tx.after:
            callback()

    # --- announcing and hearing new runs and cancels -------------------------------------------

    def announce_new_runs(self, tx: Tx) -> None:
        """Inside the transaction that made runs pending; listeners of this process hear it after
        the commit (backends add their own channel for other processes)."""
        tx.after_commit(self._fire_new_runs)

    def announce_cancel(self, tx: Tx, run_id: str) -> None:
        tx.after_commit(lambda: self._fire_cancel(run_id))

    def _fire_new_runs(self) -> None:
        for listener in list(self.new_run_listeners):
            listener()

    def _fire_cancel(self, run_id: str) -> None:
        for listener in list(self.cancel_listeners):
            listener(run_id)

    @contextlib.asynccontextmanager
    async def listening(
        self, on_new_runs: Callable[[], None], on_cancel: Callable[[str], None]
    ) -> AsyncIterator[None]:
        """While the block runs, ``on_new_runs()`` and ``on_cancel(run_id)`` are called on this event
        loop for every announcement, from this process and (through the backend's channel) others."""
        loop = asyncio.get_running_loop()

        def new_runs() -> None:
            loop.call_soon_threadsafe(on_new_runs)

        def cancel(run_id: str) -> None:
            loop.call_soon_threadsafe(on_cancel, run_id)

        self.new_run_listeners.append(new_runs)
        self.cancel_listeners.append(cancel)
        try:
            async with self.hear_others(on_new_runs, on_cancel):
                yield
        finally:
            self.new_run_listeners.remove(new_runs)
            self.cancel_listeners.remove(cancel)

    @abstractmethod
    def hear_others(
        self, on_new_runs: Callable[[], None], on_cancel: Callable[[str], None]
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Announcements from other processes, on the running loop."""

    # --- calls from an event loop --------------------------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
        """``fn(*args)`` from an event loop: in a thread (``executor``, or asyncio's default), unless
        the backend can make it right here without waiting (see ``SqliteDatabase``)."""
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    def no_waiting(self) -> contextlib.AbstractContextManager[None]:
        """Calls in this block raise :class:`WouldBlock` rather than wait (where the backend can
        tell; elsewhere nothing may be called so)."""
        raise WouldBlock()

    @property
    def inline_ok(self) -> bool:
        """Whether calls may be tried on an event loop inside :meth:`no_waiting`."""
        return False
