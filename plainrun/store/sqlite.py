"""The embedded backend: one SQLite file in WAL mode with a single writer.

Writes go one at a time, each beginning with ``BEGIN IMMEDIATE`` so two writers never deadlock on a
lock upgrade; reads run beside the writer (WAL) on a connection of each thread's own. Writers in
several processes (``plainrun serve``'s API and its worker, the CLI) queue for the write lock on an
``flock`` of ``<database>-writers``, which wakes the next one the moment it is free: SQLite's own
busy handler polls, sleeping a millisecond and more between tries. New runs wake workers of this
process directly, and workers of other processes on the same file through their wake sockets (see
``plainrun.store.wake``).

On an event loop (:meth:`SqliteDatabase.call`) a call is made right there when it cannot wait: a
read (a thread's own connection never waits in WAL mode) or a write while the write lock is free;
a write that would wait for the lock raises ``WouldBlock`` before it begins, and is made in a
thread instead. Waking a thread costs more than the call itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from plainrun.domain import storable
from plainrun.store.database import Database, WouldBlock, log
from plainrun.store.fast import DriverTx, JsonCodec, Plans
from plainrun.store.tx import CoreTx, Tx
from plainrun.store.wake import CANCEL, NEW_RUNS, WakeReceiver, WakeSender

T = TypeVar("T")
SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")
#: JSON columns are text here, written and read by the store's one codec (SQLAlchemy's engines
#: and the speed device's plans alike).
_JSON_CODEC: JsonCodec = (storable.dumps_text, storable.loads)


class SqliteDatabase(Database):
    dialect = "sqlite"
    unavailable_errors = (sqlite3.OperationalError,)
    driver_errors = (sqlite3.Error,)

    def __init__(self, url: str, *, fast: bool = True, synchronous: str = "NORMAL"):
        super().__init__(url, fast=fast)
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"SQLite synchronous is NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.synchronous = synchronous
        database = sa.engine.make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("plainrun keeps an embedded database in a file: sqlite:///path/plainrun.db")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        #: The database file: workers on it listen for wake-ups by its path.
        self.path = database
        self._waker = WakeSender(database)
        self._writers_fd: int | None = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        # The writers of this process queue here, those of other processes on the flock.
        self._writers_mutex = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._no_wait = threading.local()
        self._engines: tuple[sa.Engine, sa.Engine] | None = None
        self._plans: Plans | None = None

    # --- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA synchronous={self.synchronous}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            conn.execute(pragma)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _core_engines(self) -> tuple[sa.Engine, sa.Engine]:
        """SQLAlchemy engines on the same file, made the same way: a writer and a reader pool."""
        if self._engines is None:
            self._engines = (self._make_engine(begin="BEGIN IMMEDIATE", size=1), self._make_engine(None, 8))
        return self._engines

    def _make_engine(self, begin: str | None, size: int) -> sa.Engine:
        engine = sa.create_engine(
            "sqlite:///" + self.path,
            creator=self._connect,
            poolclass=QueuePool,
            pool_size=size,
            max_overflow=0,
            pool_timeout=60,
            pool_reset_on_return="rollback" if begin else None,
            json_serializer=_JSON_CODEC[0],
            json_deserializer=_JSON_CODEC[1],
        )
        if begin is not None:

            @sa.event.listens_for(engine, "begin")
            def _on_begin(conn: sa.Connection) -> None:
                conn.exec_driver_sql(begin)

        return engine

    @property
    def engine(self) -> sa.Engine:
        return self._core_engines()[0]

    @property
    def plans(self) -> Plans:
        if self._plans is None:
            self._plans = Plans(self._core_engines()[0].dialect, _JSON_CODEC)
        return self._plans

    # --- transactions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writers_lock(self) -> Iterator[None]:
        waiting = not self._not_waiting()
        if not self._writers_mutex.acquire(blocking=waiting):
            raise WouldBlock()
        try:
            fd = self._writers_fd
            if fd is None:
                raise ValueError("the store was disposed")
            try:
                # Without the GIL while it waits.
                fcntl.flock(fd, fcntl.LOCK_EX if waiting else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WouldBlock() from None
            try:
                yield
            finally:
                with contextlib.suppress(OSError):  # closed by dispose() meanwhile: released with it
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._writers_mutex.release()

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        with self.translated():
            if not self.fast:
                if self._not_waiting():
                    raise WouldBlock()
                with self._writers_lock(), self._core_engines()[0].begin() as core:
                    tx: Tx = CoreTx(self, core)
                    yield tx
            else:
                with self._writers_lock():
                    writer = self._writer
                    if writer is None:
                        writer = self._writer = self._connect()
                    writer.execute("BEGIN IMMEDIATE")
                    try:
                        tx = DriverTx(self, writer.cursor(), self.plans)
                        yield tx
                        writer.execute("COMMIT")
                    except BaseException:
                        if writer.in_transaction:
                            with contextlib.suppress(sqlite3.Error):
                                writer.execute("ROLLBACK")
                        raise
        self.committed(tx)

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        with self.translated():
            if self.fast:
                yield DriverTx(self, self._reader().cursor(), self.plans)
                return
            if self._not_waiting():
                raise WouldBlock()
            with self._core_engines()[1].connect() as conn:
                yield CoreTx(self, conn)

    def dispose(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        with self._writers_mutex:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        self._local = threading.local()
        if self._engines is not None:
            for engine in self._engines:
                engine.dispose()
            self._engines = None
        self._waker.close()
        if self._writers_fd is not None:
            os.close(self._writers_fd)
            self._writers_fd = None

    # --- announcing and hearing ----------------------------------------------------------------

    def announce_new_runs(self, tx: Tx) -> None:
        super().announce_new_runs(tx)
        tx.after_commit(lambda: self._waker.send(NEW_RUNS))

    def announce_cancel(self, tx: Tx, run_id: str) -> None:
        super().announce_cancel(tx, run_id)
        message = CANCEL + run_id.encode()
        tx.after_commit(lambda: self._waker.send(message))

    @contextlib.asynccontextmanager
    async def hear_others(
        self, on_new_runs: Callable[[], None], on_cancel: Callable[[str], None]
    ) -> AsyncIterator[None]:
        try:
            receiver = WakeReceiver(self.path)
        except OSError as exc:
            log.warning("no wake socket; polling", extra={"action": "wake_unavailable", "error": str(exc)})
            yield
            return
        loop = asyncio.get_running_loop()

        def readable() -> None:
            new = False
            for message in receiver.read():
                if message.startswith(CANCEL):
                    on_cancel(message[1:].decode(errors="replace"))
                else:
                    new = True
            if new:
                on_new_runs()

        loop.add_reader(receiver.fileno(), readable)
        try:
            yield
        finally:
            loop.remove_reader(receiver.fileno())
            receiver.close()

    # --- calls from an event loop --------------------------------------------------------------

    @property
    def inline_ok(self) -> bool:
        return self.fast

    @contextlib.contextmanager
    def no_waiting(self) -> Iterator[None]:
        if not self.inline_ok:
            raise WouldBlock()
        self._no_wait.active = True
        try:
            yield
        finally:
            self._no_wait.active = False

    def _not_waiting(self) -> bool:
        return bool(getattr(self._no_wait, "active", False))

    async def call(self, fn: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
        if self.inline_ok:
            try:
                with self.no_waiting():
                    return fn(*args)
            except WouldBlock:
                pass
        return await super().call(fn, *args, executor=executor)
