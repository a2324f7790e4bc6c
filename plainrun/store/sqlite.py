"""The embedded backend: one SQLite file in WAL mode with a single writer.

Writes go one at a time (the pool's writer connection, or the driver's own writer for the hot paths,
see ``plainrun.store.raw``), each beginning with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock
upgrade; reads use a small pool of their own connections, which WAL lets run beside the writer.
Writers in several processes (``plainrun serve``'s API and its worker, the CLI) queue for the write
lock on an ``flock`` of ``<database>-writers``, which wakes the next one the moment it is free:
SQLite's own busy handler polls, sleeping a millisecond and more between tries. New runs wake
workers of this process directly, and workers of other processes on the same file through their
wake sockets (see ``plainrun.store.wake``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from plainrun.store.raw import RawHotPaths, RawStatements, driver_errors
from plainrun.store.sql import WouldBlock, json_dumps
from plainrun.store.wake import CANCEL, NEW_RUNS, WakeSender

_RAW = RawStatements("sqlite")
_driver_errors = functools.partial(driver_errors, sqlite3.Error)


def synchronous() -> str:
    """``PLAINRUN_SQLITE_SYNCHRONOUS``: NORMAL (the default: a killed process loses nothing; a
    power loss may roll back the last commits) or FULL (every commit waits for fsync, so it also
    survives a power loss, at about 1.5 ms per commit on an ordinary disk)."""
    value = os.environ.get("PLAINRUN_SQLITE_SYNCHRONOUS", "NORMAL").strip().upper()
    if value not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"PLAINRUN_SQLITE_SYNCHRONOUS is NORMAL, FULL or EXTRA, not {value!r}")
    return value


def _set_up(dbapi_conn: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun explicitly (BEGIN IMMEDIATE)
    cursor = dbapi_conn.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={synchronous()}",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=30000",
    ):
        cursor.execute(pragma)
    cursor.close()


def _engine(url: str, *, begin: str | None, pool_size: int) -> Engine:
    """``begin``: the statement that opens a transaction, or None for a reader whose every
    statement is its own snapshot (no BEGIN before, no ROLLBACK after: half the round trips)."""
    engine = sa.create_engine(
        url,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=0,
        pool_reset_on_return="rollback" if begin else None,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": 30},
        json_serializer=json_dumps,
        json_deserializer=orjson.loads,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        _set_up(dbapi_conn)

    if begin is not None:

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql(begin)

    return engine


class SqliteStore(RawHotPaths):
    dialect = "sqlite"

    def __init__(self, url: str):
        synchronous()  # a wrong setting stops the start, not the first write
        super().__init__(url)
        database = sa.engine.make_url(url).database
        #: The database file (None in memory): workers on it listen for wake-ups by its path.
        self.database_path = database if database and database != ":memory:" else None
        self._waker = WakeSender(database) if self.database_path else None
        self._writers_fd = (
            os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o600) if self.database_path else None
        )
        # The writers of this process queue here, those of other processes on the flock above.
        self._writers_mutex = threading.Lock()
        self._raw_writer: sqlite3.Connection | None = None
        #: Calls on an event loop (``no_waiting``) are quick: a file of its own, in this process.
        self.inline_ok = self.database_path is not None
        # Each connection to :memory: is a database of its own: there, the pool's connections only.
        self._raw = _RAW if self.database_path is not None else None
        self._no_wait = threading.local()
        self._local = threading.local()
        self._raw_lock = threading.Lock()
        self._raw_readers: list[Any] = []

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
        return getattr(self._no_wait, "active", False)

    @contextlib.contextmanager
    def _writers_lock(self) -> Iterator[None]:
        waiting = not self._not_waiting()
        if not self._writers_mutex.acquire(blocking=waiting):
            raise WouldBlock()
        try:
            fd = self._writers_fd
            if fd is None:
                yield
                return
            try:
                # without the GIL while it waits
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
    def _raw_transaction(self) -> Iterator[tuple[sqlite3.Cursor, list[Callable[[], None]]]]:
        """One write transaction on the driver's own writer connection (``plainrun.store.raw``)."""
        after: list[Callable[[], None]] = []
        with self._translated(), _driver_errors(), self._writers_lock():
            conn = self._raw_writer
            if conn is None:
                conn = self._raw_writer = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.cursor(), after
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        for callback in after:
            callback()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.database_path or ":memory:", timeout=30, check_same_thread=False)
        _set_up(conn)  # as the pool's connections are
        return conn

    def _after_new_runs(self, after: list[Callable[[], None]]) -> None:
        after.append(self._fire_new_runs)
        if self._waker is not None:
            after.append(lambda: self._waker.send(NEW_RUNS))  # type: ignore[union-attr]

    def notify_new_runs(self, conn: Connection) -> None:
        self._after_new_runs(conn.info["after_commit"])

    def notify_cancel(self, conn: Connection, run_id: str) -> None:
        super().notify_cancel(conn, run_id)
        if self._waker is not None:
            message = CANCEL + run_id.encode()
            conn.info["after_commit"].append(lambda: self._waker.send(message))  # type: ignore[union-attr]

    # --- hot paths on the driver's connection (see plainrun.store.raw) ---------------------------

    def _raw_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One row through this thread's own reader connection (no pool checkout per read)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._raw_lock:
                self._raw_readers.append(conn)
        with self._translated(), _driver_errors():
            return conn.execute(sql, params).fetchone()  # type: ignore[no-any-return]

    def _raw_new_runs(self, cursor: Any, after: list[Callable[[], None]]) -> None:
        self._after_new_runs(after)

    def dispose(self) -> None:
        with self._raw_lock:
            readers, self._raw_readers = self._raw_readers, []
        for conn in readers:
            conn.close()
        with self._writers_mutex:
            writer, self._raw_writer = self._raw_writer, None
        if writer is not None:
            writer.close()
        self._local = threading.local()
        super().dispose()
        if self._waker is not None:
            self._waker.close()
        if self._writers_fd is not None:
            os.close(self._writers_fd)
            self._writers_fd = None

    def _make_engines(self, url: str) -> tuple[Engine, Engine]:
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        writer = _engine(url, begin="BEGIN IMMEDIATE", pool_size=1)
        reader = _engine(url, begin=None, pool_size=8)
        return writer, reader
