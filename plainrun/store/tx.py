"""A transaction as the store's operations see it: SQLAlchemy Core statements in, plain rows out.

Every operation of the store is written once, against :class:`Tx`, with SQLAlchemy Core statements
(built once, with named parameters). Two executors run them:

- :class:`CoreTx` (here): SQLAlchemy's own ``Connection.execute``, the general path and the
  reference: what it writes and reads is what SQLAlchemy does;
- ``DriverTx`` (``plainrun.store.fast``): the same statements compiled once per dialect by
  SQLAlchemy's compiler and run on the driver's cursor, with SQLAlchemy's own type processors.

Which one runs is the backend's choice (``Settings.fast``), never the operation's: a reader who
edits a statement changes what runs on both. The contract tests run every operation on both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.sql.base import Executable

if TYPE_CHECKING:
    from plainrun.store.database import Database

Params = Mapping[str, Any]


class Result(NamedTuple):
    """What a statement gave: its column keys and rows (values decoded), and the rows it changed."""

    keys: list[str]
    rows: list[Sequence[Any]]
    rowcount: int


class Tx(ABC):
    """One write transaction, or one read, on one connection; statements run in order on it."""

    def __init__(self, database: Database):
        self.database = database
        self.dialect = database.dialect
        #: Run after the transaction committed, in order (never after a rollback).
        self.after: list[Callable[[], None]] = []

    @abstractmethod
    def execute(self, statement: Executable, params: Params | None = None) -> Result: ...

    @abstractmethod
    def execute_many(self, statement: Executable, rows: Sequence[Params]) -> None:
        """The statement once per parameter set (inserts of many rows)."""

    def send(self, statement: Executable, params: Params | None = None) -> None:
        """A statement whose result the operation does not read. An executor may send it together
        with the statements after it (``DriverTx`` in psycopg's pipeline); its error, if any, still
        fails the transaction, at its commit at the latest."""
        self.execute(statement, params)

    def rows(self, statement: Executable, params: Params | None = None) -> list[dict[str, Any]]:
        keys, rows, _ = self.execute(statement, params)
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def first(self, statement: Executable, params: Params | None = None) -> dict[str, Any] | None:
        keys, rows, _ = self.execute(statement, params)
        return dict(zip(keys, rows[0], strict=True)) if rows else None

    def scalar(self, statement: Executable, params: Params | None = None) -> Any:
        rows = self.execute(statement, params).rows
        return rows[0][0] if rows else None

    def scalars(self, statement: Executable, params: Params | None = None) -> list[Any]:
        return [row[0] for row in self.execute(statement, params).rows]

    def run(self, statement: Executable, params: Params | None = None) -> int:
        """Run a statement that changes rows; how many it changed."""
        return self.execute(statement, params).rowcount

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.after.append(callback)

    def announce_new_runs(self) -> None:
        """Runs became pending in this transaction: idle workers are woken once it commits."""
        self.database.announce_new_runs(self)

    def announce_cancel(self, run_id: str) -> None:
        """A running run was asked to cancel in this transaction: its worker is told once it commits."""
        self.database.announce_cancel(self, run_id)


class CoreTx(Tx):
    """Statements through SQLAlchemy's ``Connection`` (the general path)."""

    def __init__(self, database: Database, conn: sa.Connection):
        super().__init__(database)
        self.conn = conn

    def execute(self, statement: Executable, params: Params | None = None) -> Result:
        result = self.conn.execute(statement, dict(params) if params is not None else None)
        if not result.returns_rows:
            return Result([], [], result.rowcount)
        keys = list(result.keys())
        rows: list[Sequence[Any]] = [tuple(row) for row in result.all()]
        return Result(keys, rows, result.rowcount)

    def execute_many(self, statement: Executable, rows: Sequence[Params]) -> None:
        if rows:
            self.conn.execute(statement, [dict(r) for r in rows])
