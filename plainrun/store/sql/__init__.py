"""The store's operations, one module per concept, written once over either database backend.

``SqlStore(database)`` gathers them: ``store.runs``, ``store.execution``, ``store.processes`` … each
a small object whose every method is one transaction on the database it was given (SQLite or
PostgreSQL, see ``plainrun.store.database``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import sqlalchemy as sa

from plainrun.errors import StoreError
from plainrun.store import migrate
from plainrun.store.database import Database
from plainrun.store.sql.agents import AgentsSql
from plainrun.store.sql.box import BoxSql
from plainrun.store.sql.days import RunDaysSql
from plainrun.store.sql.execution import ExecutionSql
from plainrun.store.sql.files import FilesSql
from plainrun.store.sql.guidance import GuidanceSql
from plainrun.store.sql.idempotency import IdempotencySql
from plainrun.store.sql.installation import InstallationSql
from plainrun.store.sql.mail import MailSql
from plainrun.store.sql.processes import ProcessesSql
from plainrun.store.sql.runs import RunsSql
from plainrun.store.sql.schedules import SchedulesSql
from plainrun.store.sql.testsuite import TestSuiteSql
from plainrun.store.sql.webhooks import WebhooksSql

T = TypeVar("T")
_PING = sa.select(sa.literal(1, sa.Integer))


class SqlStore:
    """Every operation of the store over one database. Thread-safe."""

    def __init__(self, database: Database):
        self.database = database
        self.dialect = database.dialect
        self.installation = InstallationSql(database)
        self.agents = AgentsSql(database)
        self.processes = ProcessesSql(database)
        self.files = FilesSql(database)
        self.runs = RunsSql(database)
        self.days = RunDaysSql(database)
        self.idempotency = IdempotencySql(database)
        self.execution = ExecutionSql(database)
        self.guidance = GuidanceSql(database)
        self.box = BoxSql(database)
        self.mail = MailSql(database)
        self.schedules = SchedulesSql(database)
        self.tests = TestSuiteSql(database)
        self.webhooks = WebhooksSql(database)

    def create_schema(self) -> None:
        """Create the schema, or upgrade it, by migrating to the newest revision."""
        migrate.upgrade(self.database.engine)

    def revision(self) -> str | None:
        """The schema's migration revision."""
        return migrate.current(self.database.engine)

    def ping(self) -> bool:
        """Whether the database answers now."""
        try:
            with self.database.read() as tx:
                return bool(tx.scalar(_PING))
        except StoreError:
            return False

    def dispose(self) -> None:
        self.database.dispose()

    async def call(self, fn: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
        return await self.database.call(fn, *args, executor=executor)

    def listening(
        self, on_new_runs: Callable[[], None], on_cancel: Callable[[str], None]
    ) -> contextlib.AbstractAsyncContextManager[None]:
        return self.database.listening(on_new_runs, on_cancel)
