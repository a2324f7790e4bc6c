"""The scale-out backend: PostgreSQL through psycopg 3.

Many API servers, workers and schedulers share one database. Workers claim runs with
``FOR UPDATE SKIP LOCKED`` and are woken by ``NOTIFY plainrun_runs``; cancels of running runs are
announced on ``plainrun_cancel``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from plainrun.store import schema as t
from plainrun.store.raw import RawStatements
from plainrun.store.records import Outcome, Process, Run
from plainrun.store.sql import SqlStore, _process, _run, json_dumps, utcnow

RUNS_CHANNEL = "plainrun_runs"
CANCEL_CHANNEL = "plainrun_cancel"

_RAW = RawStatements("postgresql")


@contextlib.contextmanager
def _driver_errors() -> Iterator[None]:
    """The driver's errors as SQLAlchemy's, which ``SqlStore._translated`` turns into the store's."""
    try:
        yield
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from exc


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


class PostgresStore(SqlStore):
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

    def get_run(self, run_id: str) -> Run | None:
        with self.read() as conn, _driver_errors():
            row = _cursor(conn).execute(_RAW.get_run, (run_id,)).fetchone()
        return _run(_RAW.decode(_RAW.runs, row)) if row else None  # type: ignore[arg-type]

    def get_process_for_run(self, process_id: str) -> tuple[Process, str | None] | None:
        with self.read() as conn, _driver_errors():
            row = _cursor(conn).execute(_RAW.process_for_run, (process_id,)).fetchone()
        if row is None:
            return None
        return _process(_RAW.decode(_RAW.processes, row)), row[-1]  # type: ignore[arg-type]

    def _insert_runs(self, rows: list[dict[str, Any]]) -> None:
        with self.write() as conn, _driver_errors():
            cursor = _cursor(conn)
            _RAW.insert_runs(cursor, rows)
            cursor.execute(f"NOTIFY {RUNS_CHANNEL}")
            SqlStore.notify_new_runs(self, conn)  # this process's own listeners, after the commit

    def claim_runs(self, worker_id: str, *, limit: int, lease_s: float) -> list[Run]:
        """As :meth:`SqlStore.claim_runs`, on the driver while no process with a limit has pending runs."""
        with self.write() as conn, _driver_errors():
            claimed = _RAW.claim_runs(_cursor(conn), worker_id, limit=limit, lease_s=lease_s, now=utcnow())
        if claimed is None:  # the general claim, in a transaction of its own
            return super().claim_runs(worker_id, limit=limit, lease_s=lease_s)
        return sorted((_run(r) for r in claimed), key=lambda r: r.id)  # type: ignore[arg-type]

    def finish_runs(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """As :meth:`SqlStore.finish_runs`, on the driver when no outcome starts, wakes or parks runs."""
        if not _RAW.plain(outcomes):
            return super().finish_runs(outcomes)
        with self.write() as conn, _driver_errors():
            return _RAW.finish_runs(_cursor(conn), outcomes, now=utcnow())

    @property
    def psycopg_dsn(self) -> str:
        """The DSN for a raw psycopg connection (LISTEN needs one outside the pool)."""
        return sa.engine.make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
