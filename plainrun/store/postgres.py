"""The scale-out backend: PostgreSQL through psycopg 3.

Many API servers, workers and schedulers share one database. Workers claim runs with
``FOR UPDATE SKIP LOCKED``; transactions that make runs pending send ``NOTIFY plainrun_runs``, and
those that ask a running run to cancel ``NOTIFY plainrun_cancel, '<run id>'``; every worker
LISTENs on both on a connection of its own. Reads run in autocommit (no BEGIN before and no
ROLLBACK after each one); write transactions in psycopg's pipeline (``_pipelined``: BEGIN with the
first statement, and what is not read with the next statement that is, or with the COMMIT).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import psycopg
import sqlalchemy as sa

from plainrun.domain import storable
from plainrun.store.database import Database
from plainrun.store.fast import DriverTx, Plans
from plainrun.store.tx import CoreTx, Tx

log = logging.getLogger("plainrun.store")

RUNS_CHANNEL = "plainrun_runs"
CANCEL_CHANNEL = "plainrun_cancel"
_NOTIFY_RUNS = sa.text(f"NOTIFY {RUNS_CHANNEL}")
_NOTIFY_CANCEL = sa.select(sa.func.pg_notify(CANCEL_CHANNEL, sa.bindparam("run_id", type_=sa.Text)))

#: A pooled connection unused for this long is pinged before it is handed out again.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: sa.Engine) -> None:
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


_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"


class PostgresDatabase(Database):
    dialect = "postgresql"
    unavailable_errors = (psycopg.OperationalError,)
    driver_errors = (psycopg.Error,)

    def __init__(self, url: str, *, fast: bool = True):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        super().__init__(url, fast=fast)
        self._engine = sa.create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_timeout=30,
            json_serializer=storable.dumps_decimal_text,
            json_deserializer=storable.loads,
        )
        _ping_when_idle(self._engine)
        self.plans = Plans(self._engine.dialect)

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @property
    def psycopg_dsn(self) -> str:
        """The DSN for a psycopg connection of its own (LISTEN needs one outside the pool)."""
        url = sa.engine.make_url(self.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    # --- transactions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        with self.translated():
            if not self.fast:
                with self._engine.begin() as conn:
                    tx: Tx = CoreTx(self, conn)
                    yield tx
            else:
                raw = self._engine.raw_connection()
                try:
                    driver = raw.driver_connection
                    assert isinstance(driver, psycopg.Connection)
                    with self._pipelined(driver) as tx:
                        yield tx
                finally:
                    raw.close()
        self.committed(tx)

    @contextlib.contextmanager
    def _pipelined(self, driver: psycopg.Connection[Any]) -> Iterator[DriverTx]:
        """A write transaction in psycopg's pipeline mode: BEGIN goes with the first statement, and
        the statements whose results are not read go with the next one that is, or with the COMMIT.

        BEGIN and COMMIT are sent as statements on a connection in autocommit (in a transaction
        psycopg opens itself, it waits for the BEGIN's answer alone before sending the first
        statement); the pipeline's end sends the COMMIT and reads every result, raising the first
        error. A transaction left open by an error is rolled back.
        """
        driver.autocommit = True
        try:
            with driver.pipeline() as pipeline:
                cursor = driver.cursor()
                cursor.execute(_BEGIN)
                yield DriverTx(self, cursor, self.plans, one_statement_inserts=True, pipeline=pipeline)
                cursor.execute(_COMMIT)
        except BaseException:
            if not driver.closed and driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    driver.execute(b"ROLLBACK")
            raise
        finally:
            if not driver.closed:
                with contextlib.suppress(psycopg.Error):
                    driver.autocommit = False

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        with self.translated():
            if not self.fast:
                with self._engine.connect() as conn:
                    yield CoreTx(self, conn.execution_options(isolation_level="AUTOCOMMIT"))
                return
            raw = self._engine.raw_connection()
            try:
                driver = raw.driver_connection
                assert isinstance(driver, psycopg.Connection)
                driver.autocommit = True
                try:
                    yield DriverTx(self, driver.cursor(), self.plans)
                finally:
                    if not driver.closed:
                        driver.autocommit = False
            finally:
                raw.close()

    def dispose(self) -> None:
        self._engine.dispose()

    # --- announcing and hearing ----------------------------------------------------------------

    def announce_new_runs(self, tx: Tx) -> None:
        super().announce_new_runs(tx)
        tx.send(_NOTIFY_RUNS)

    def announce_cancel(self, tx: Tx, run_id: str) -> None:
        super().announce_cancel(tx, run_id)
        tx.send(_NOTIFY_CANCEL, {"run_id": run_id})

    @contextlib.asynccontextmanager
    async def hear_others(
        self, on_new_runs: Callable[[], None], on_cancel: Callable[[str], None]
    ) -> AsyncIterator[None]:
        task = asyncio.create_task(self._listen(on_new_runs, on_cancel), name="plainrun-listen")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self, on_new_runs: Callable[[], None], on_cancel: Callable[[str], None]) -> None:
        delay = 0.2
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.psycopg_dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {RUNS_CHANNEL}")
                    await conn.execute(f"LISTEN {CANCEL_CHANNEL}")
                    delay = 0.2
                    on_new_runs()  # anything that arrived while we were not listening
                    async for note in conn.notifies():
                        if note.channel == RUNS_CHANNEL:
                            on_new_runs()
                        else:
                            on_cancel(note.payload)
            except psycopg.Error as exc:
                log.warning("listen connection lost", extra={"action": "listen_lost", "error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
