"""The embedded backend: one SQLite file in WAL mode with a single writer.

Writes go through one connection that begins with ``BEGIN IMMEDIATE`` (so two writers never
deadlock on a lock upgrade) and reads use a small pool of their own connections, which WAL lets run
beside the writer. New runs wake workers of this process directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from plainrun.store.sql import SqlStore, json_dumps


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
        dbapi_conn.isolation_level = None  # transactions are begun below, explicitly
        cursor = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    if begin is not None:

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql(begin)

    return engine


class SqliteStore(SqlStore):
    dialect = "sqlite"

    def _make_engines(self, url: str) -> tuple[Engine, Engine]:
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        writer = _engine(url, begin="BEGIN IMMEDIATE", pool_size=1)
        reader = _engine(url, begin=None, pool_size=8)
        return writer, reader
