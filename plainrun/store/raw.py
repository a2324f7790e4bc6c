"""The hottest statements on the driver's own cursor: no statement building, no result machinery.

Starting a run, claiming runs and recording their outcomes happen for every run, many times a
second; through SQLAlchemy Core each statement costs more CPU than the database spends on it.
``RawStatements`` writes these few statements out for one backend (SQLite's ``?`` and text
columns, PostgreSQL's ``%s`` and ``jsonb``) and reads and writes every value exactly as
SQLAlchemy does, so rows written either way read the same either way. The stores run them on the
connections, and inside the transactions, of their own engines (SQLite also on its own writer).

``RawHotPaths`` runs them for both stores, which give it a row reader, a write transaction and the
announcement of new runs. The common case only: a claim while no process with a concurrency limit
has pending runs, and outcomes that start, park or wake no other run. The stores' general code
takes the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from plainrun.domain.runs import FINAL_STATES, RunState
from plainrun.store import schema as t
from plainrun.store.records import Outcome, Process, Run
from plainrun.store.sql import SqlStore, _process, _run, claim_events, created_events, json_dumps, utcnow

Column = tuple[str, Callable[[Any], Any] | None, Callable[[Any], Any] | None, str]


def _sqlite_datetime_in(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_datetime_out(value: datetime) -> str:
    # As SQLAlchemy stores a DateTime in SQLite: naive UTC, a space, microseconds.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_datetime_in(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _json_in(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _json_out(value: Any) -> str:
    return json_dumps(value)  # None too: SQLAlchemy's JSON stores it as JSON null


class RawStatements:
    """The hot statements of one backend, with how each column's value goes in and comes out."""

    def __init__(self, dialect: Literal["sqlite", "postgresql"]):
        self.dialect = dialect
        mark = "?" if dialect == "sqlite" else "%s"
        self.datetime_out: Callable[[datetime], Any] = (
            _sqlite_datetime_out if dialect == "sqlite" else _pg_datetime_in
        )
        self.runs = self._columns(t.runs, mark)
        self.events = self._columns(t.run_events, mark)[1:]  # the id is the database's
        self.processes = self._columns(t.processes, mark)
        names = ", ".join(c[0] for c in self.runs)
        self.get_run = f"SELECT {names} FROM runs WHERE id = {mark}"
        self.insert_run = f"INSERT INTO runs ({names}) VALUES ({', '.join(c[3] for c in self.runs)})"
        self.insert_event = (
            f"INSERT INTO run_events ({', '.join(c[0] for c in self.events)}) "
            f"VALUES ({', '.join(c[3] for c in self.events)})"
        )
        self.process_for_run = (
            f"SELECT {', '.join('p.' + c[0] for c in self.processes)}, v.sha256 FROM processes p "
            "LEFT OUTER JOIN process_versions v ON v.process_id = p.id "
            f"AND v.version = p.published_version WHERE p.id = {mark}"
        )
        self.any_limited = (
            "SELECT 1 FROM processes p WHERE p.max_concurrent_runs IS NOT NULL AND EXISTS "
            "(SELECT 1 FROM runs r WHERE r.process_id = p.id AND r.state = 'Pending') LIMIT 1"
        )
        # Parameters: limit, worker, lease expiry, now. On PostgreSQL a CTE, so the picking
        # subquery runs once, skipping rows other workers are claiming.
        lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
        self.claim = (
            f"WITH picked AS (SELECT id FROM runs WHERE state = 'Pending' ORDER BY id LIMIT {mark}{lock}) "
            f"UPDATE runs SET state = 'Running', attempt = attempt + 1, lease_owner = {mark}, "
            f"lease_expires_at = {mark}, started_at = coalesce(started_at, {mark}) "
            "WHERE id IN (SELECT id FROM picked) AND state = 'Pending' "
            f"RETURNING {', '.join(c[0] for c in self.runs)}"
        )
        json_mark = "?" if dialect == "sqlite" else "%s::jsonb"
        self._finish: dict[tuple[bool, bool, bool], str] = {}
        for key in ((o, e, f) for o in (False, True) for e in (False, True) for f in (False, True)):
            outputs, error, final = key
            sets = ["state = " + mark, "lease_owner = NULL", "lease_expires_at = NULL"]
            sets.append("exec_state = " + json_mark)
            sets += [f"outputs = {json_mark}"] * outputs + [f"error = {json_mark}"] * error
            sets += [f"finished_at = {mark}"] * final
            self._finish[key] = (
                f"UPDATE runs SET {', '.join(sets)} "
                f"WHERE id = {mark} AND attempt = {mark} AND state = 'Running'"
            )

    def _columns(self, table: sa.Table, mark: str) -> list[Column]:
        """Each column's name, how its value comes out and goes in, and its placeholder."""
        sqlite = self.dialect == "sqlite"
        out: list[Column] = []
        for column in table.c:
            if isinstance(column.type, t.UtcDateTime):
                into = _sqlite_datetime_in if sqlite else _pg_datetime_in
                out.append((column.name, into, self.datetime_out, mark))
            elif isinstance(column.type, sa.JSON):
                out.append((column.name, _json_in, _json_out, mark if sqlite else f"{mark}::jsonb"))
            elif isinstance(column.type, sa.Boolean) and sqlite:
                out.append((column.name, bool, int, mark))
            else:
                out.append((column.name, None, None, mark))
        return out

    @staticmethod
    def decode(columns: list[Column], row: Sequence[Any]) -> dict[str, Any]:
        return {
            name: value if into is None or value is None else into(value)
            for (name, into, _, _), value in zip(columns, row, strict=False)
        }

    @staticmethod
    def encode(columns: list[Column], row: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, _, out, _ in columns:
            value = row.get(name)
            values.append(value if out is None or (value is None and out is not _json_out) else out(value))
        return tuple(values)

    # --- the operations, on a driver cursor inside the caller's transaction -------------------

    def _insert(self, cursor: Any, table: str, columns: list[Column], rows: list[dict[str, Any]]) -> None:
        """Rows into ``table`` with ``executemany``, but one row on PostgreSQL with ``execute``:
        psycopg's ``executemany`` goes through its pipeline, which for a single row costs a third
        more CPU than the plain statement (and batches of one are the common case)."""
        insert = self.insert_run if table == "runs" else self.insert_event
        if len(rows) == 1 and self.dialect == "postgresql":
            cursor.execute(insert, self.encode(columns, rows[0]))
        elif rows:
            cursor.executemany(insert, [self.encode(columns, r) for r in rows])

    def insert_runs(self, cursor: Any, rows: list[dict[str, Any]]) -> None:
        """Runs made by ``sql.pending_row`` with their ``created`` events."""
        events = created_events(rows)
        self._insert(cursor, "runs", self.runs, rows)
        self._insert(cursor, "run_events", self.events, events)

    def claim_runs(
        self, cursor: Any, worker_id: str, *, limit: int, lease_s: float, now: datetime
    ) -> list[dict[str, Any]] | None:
        """The claimed rows, or None when a process with a concurrency limit has pending runs
        (then the store's general claim decides, in a transaction of its own)."""
        if cursor.execute(self.any_limited).fetchone() is not None:
            return None
        expires = now + timedelta(seconds=lease_s)
        params = (limit, worker_id, self.datetime_out(expires), self.datetime_out(now))
        claimed = [self.decode(self.runs, row) for row in cursor.execute(self.claim, params).fetchall()]
        events = claim_events(claimed, worker_id, now)
        if events:
            self._insert(cursor, "run_events", self.events, events)
        return claimed

    @staticmethod
    def plain(outcomes: Sequence[Outcome]) -> bool:
        """Whether no outcome starts, parks or wakes another run (then ``finish_runs`` may record them)."""
        return not any(
            o.children
            or o.to_state in (RunState.WAITING, RunState.PENDING)
            or (o.parent_run_id and o.to_state in FINAL_STATES)
            for o in outcomes
        )

    def finish_runs(self, cursor: Any, outcomes: Sequence[Outcome], *, now: datetime) -> list[bool]:
        """Plain outcomes (see :meth:`plain`), fenced as ``SqlStore.finish_runs`` fences them."""
        at = self.datetime_out(now)
        written: list[bool] = []
        events: list[dict[str, Any]] = []
        for o in outcomes:
            final = o.to_state in FINAL_STATES
            params: list[Any] = [o.to_state.value, _json_out(o.exec_state)]
            if o.outputs is not None:
                params.append(_json_out(o.outputs))
            if o.error is not None:
                params.append(_json_out(o.error))
            if final:
                params.append(at)
            sql = self._finish[(o.outputs is not None, o.error is not None, final)]
            ok = cursor.execute(sql, (*params, o.run_id, o.attempt)).rowcount == 1
            written.append(ok)
            if not ok:
                continue
            base = {"run_id": o.run_id, "at": now, "attempt": o.attempt}
            events.extend({**base, "kind": "log", "data": line} for line in o.log)
            events.append(
                {
                    **base,
                    "kind": "state",
                    "from_state": RunState.RUNNING.value,
                    "to_state": o.to_state.value,
                    "data": o.event_data,
                }
            )
        if events:
            self._insert(cursor, "run_events", self.events, events)
        return written


@contextlib.contextmanager
def driver_errors(error: type[Exception]) -> Iterator[None]:
    """The driver's ``error`` as SQLAlchemy's, which ``SqlStore._translated`` turns into the store's."""
    try:
        yield
    except error as exc:
        raise sa.exc.DBAPIError.instance(None, None, exc, error) from exc


class RawHotPaths(SqlStore):
    """The store's hot operations through ``RawStatements``; each falls back to the general code
    (``SqlStore``'s) where ``_raw`` is None or the case is not the common one."""

    #: The backend's statements, or None where they cannot be used (SQLite in memory).
    _raw: RawStatements | None = None

    # --- what a backend gives ----------------------------------------------------------------

    def _raw_row(self, sql: str, params: tuple[Any, ...]) -> Sequence[Any] | None:
        """One row of a read, through the driver."""
        raise NotImplementedError

    def _raw_transaction(self) -> contextlib.AbstractContextManager[tuple[Any, list[Callable[[], None]]]]:
        """A write transaction: its driver cursor and the callbacks to run after its commit."""
        raise NotImplementedError

    def _raw_new_runs(self, cursor: Any, after: list[Callable[[], None]]) -> None:
        """Inside the transaction that made runs pending: have idle workers woken once it commits."""
        raise NotImplementedError

    # --- the operations ----------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run | None:
        if self._raw is None:
            return super().get_run(run_id)
        row = self._raw_row(self._raw.get_run, (run_id,))
        return _run(self._raw.decode(self._raw.runs, row)) if row else None  # type: ignore[arg-type]

    def get_process_for_run(self, process_id: str) -> tuple[Process, str | None] | None:
        if self._raw is None:
            return super().get_process_for_run(process_id)
        row = self._raw_row(self._raw.process_for_run, (process_id,))
        if row is None:
            return None
        return _process(self._raw.decode(self._raw.processes, row)), row[-1]  # type: ignore[arg-type]

    def _insert_runs(self, rows: list[dict[str, Any]]) -> None:
        if self._raw is None:
            super()._insert_runs(rows)
            return
        with self._raw_transaction() as (cursor, after):
            self._raw.insert_runs(cursor, rows)
            self._raw_new_runs(cursor, after)

    def claim_runs(self, worker_id: str, *, limit: int, lease_s: float) -> list[Run]:
        """As :meth:`SqlStore.claim_runs`, on the driver while no process with a limit has pending runs."""
        claimed = None
        if self._raw is not None:
            with self._raw_transaction() as (cursor, _):
                claimed = self._raw.claim_runs(cursor, worker_id, limit=limit, lease_s=lease_s, now=utcnow())
        if claimed is None:  # the general claim, in a transaction of its own
            return super().claim_runs(worker_id, limit=limit, lease_s=lease_s)
        return sorted((_run(r) for r in claimed), key=lambda r: r.id)  # type: ignore[arg-type]

    def finish_runs(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """As :meth:`SqlStore.finish_runs`, on the driver when no outcome starts, wakes or parks runs."""
        if self._raw is None or not self._raw.plain(outcomes):
            return super().finish_runs(outcomes)
        with self._raw_transaction() as (cursor, _):
            return self._raw.finish_runs(cursor, outcomes, now=utcnow())
