"""The scale-out backend: PostgreSQL through psycopg 3.

Many API servers, workers and schedulers share one database. Workers claim runs with
``FOR UPDATE SKIP LOCKED`` and are woken by ``NOTIFY plainrun_runs``; cancels of running runs are
announced on ``plainrun_cancel``.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from plainrun.store import schema as t
from plainrun.store.raw import RawHotPaths, RawStatements, driver_errors
from plainrun.store.sql import json_dumps

RUNS_CHANNEL = "plainrun_runs"
CANCEL_CHANNEL = "plainrun_cancel"

_RAW = RawStatements("postgresql")
_driver_errors = functools.partial(driver_errors, psycopg.Error)


def _cursor(conn: Connection) -> psycopg.Cursor[Any]:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr,no-any-return]


#: A pooled connection unused for this long is pinged before it is handed out again.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Hand out only live connections, pinging only those that sat idle (SQLAlchemy's
    ``pool_pre_ping`` pings at every checkout: a round trip more for every transaction).

    A connection in use a moment ago is live unless the driver saw it break (then it is replaced
    here too); one idle for longer may have lost its server (a restart, a failover), so it is
    pinged, and a dead one is replaced: the pool retries with a new connection.
    """

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if dbapi_conn.closed or dbapi_conn.broken:
            raise sa.exc.DisconnectionError("the connection broke")
        if time.monotonic() - record.info.get("checked_in", 0.0) > PING_AFTER_IDLE_S:
            try:
                dbapi_conn.execute("SELECT 1")
                if not dbapi_conn.autocommit:
                    dbapi_conn.rollback()
            except psycopg.Error as exc:
                raise sa.exc.DisconnectionError(f"the connection was lost: {exc}") from exc

    @sa.event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()


class PostgresStore(RawHotPaths):
    _raw = _RAW

    dialect = "postgresql"

    def _make_engines(self, url: str) -> tuple[Engine, Engine]:
        engine = sa.create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_timeout=30,
            json_serializer=json_dumps,
            json_deserializer=orjson.loads,
        )
        _ping_when_idle(engine)
        # Reads run in autocommit: no BEGIN before and no ROLLBACK after each one.
        return engine, engine.execution_options(isolation_level="AUTOCOMMIT")

    def _claim_query(self, limit: int) -> sa.Select[Any]:
        return super()._claim_query(limit).with_for_update(skip_locked=True)

    def _lock_for_update(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.with_for_update()

    def _lock_processes(self, process_ids: list[str]) -> sa.Select[Any]:
        # FOR NO KEY UPDATE: it does not block inserting runs (their foreign key takes KEY SHARE).
        return (
            super()
            ._lock_processes(process_ids)
            .order_by(t.processes.c.id)
            .with_for_update(skip_locked=True, key_share=True)
        )

    def notify_new_runs(self, conn: Connection) -> None:
        super().notify_new_runs(conn)
        conn.execute(sa.text(f"NOTIFY {RUNS_CHANNEL}"))

    def notify_cancel(self, conn: Connection, run_id: str) -> None:
        super().notify_cancel(conn, run_id)
        conn.execute(
            sa.text("SELECT pg_notify(:channel, :run_id)"), {"channel": CANCEL_CHANNEL, "run_id": run_id}
        )

    # --- hot paths on the driver's cursor (see plainrun.store.raw) -------------------------------

    def _raw_row(self, sql: str, params: tuple[Any, ...]) -> Sequence[Any] | None:
        with self.read() as conn, _driver_errors():
            return _cursor(conn).execute(sql, params).fetchone()

    @contextlib.contextmanager
    def _raw_transaction(self) -> Iterator[tuple[psycopg.Cursor[Any], list[Callable[[], None]]]]:
        with self.write() as conn, _driver_errors():
            yield _cursor(conn), conn.info["after_commit"]

    def _raw_new_runs(self, cursor: Any, after: list[Callable[[], None]]) -> None:
        cursor.execute(f"NOTIFY {RUNS_CHANNEL}")
        after.append(self._fire_new_runs)  # this process's own listeners

    @property
    def psycopg_dsn(self) -> str:
        """The DSN for a raw psycopg connection (LISTEN needs one outside the pool)."""
        return sa.engine.make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
