"""The scale-out backend: PostgreSQL through psycopg 3.

Many API servers, workers and schedulers share one database. Workers claim runs with
``FOR UPDATE SKIP LOCKED`` and are woken by ``NOTIFY plainrun_runs``; cancels of running runs are
announced on ``plainrun_cancel``.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from plainrun.store import schema as t
from plainrun.store.sql import SqlStore, json_dumps

RUNS_CHANNEL = "plainrun_runs"
CANCEL_CHANNEL = "plainrun_cancel"


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def _make_engines(self, url: str) -> tuple[Engine, Engine]:
        engine = sa.create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            pool_timeout=30,
            json_serializer=json_dumps,
            json_deserializer=orjson.loads,
        )
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

    @property
    def psycopg_dsn(self) -> str:
        """The DSN for a raw psycopg connection (LISTEN needs one outside the pool)."""
        return sa.engine.make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
