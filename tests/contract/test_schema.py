"""The schema migrations build, and the two executors read and write rows the same way."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from plainrun.domain.runs import Outcome, RunState
from plainrun.store import Store, migrate, open_store
from plainrun.store.schema import POSTGRESQL_ONLY, metadata
from plainrun.store.sql import SqlStore
from tests.contract.conftest import make_process, new_runs


def test_migrated_schema_equals_the_declared_one(store: Store) -> None:
    assert isinstance(store, SqlStore)
    assert store.revision() == migrate.head()
    with store.database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": lambda _, name, type_, *__: (
                    conn.dialect.name == "postgresql" or not (type_ == "index" and name in POSTGRESQL_ONLY)
                ),
            },
        )
        assert compare_metadata(context, metadata) == []


def test_what_one_executor_writes_the_other_reads_the_same(database_url: str) -> None:
    """Every kind of column (text, numbers, JSON, booleans, aware datetimes, NULLs) written through
    the driver reads the same through SQLAlchemy, and the other way round."""
    fast, general = open_store(database_url, fast=True), open_store(database_url, fast=False)
    try:
        fast.create_schema()
        for writer, reader in ((fast, general), (general, fast)):
            process = make_process(writer, settings={"max_concurrency": 3, "on_exception": "fail"})
            [new] = new_runs(writer, 1, process=process, exec_state={"options": {"on_exception": "fail"}})
            [made] = writer.runs.create([new])
            [claimed] = writer.execution.claim("w", limit=1, lease_s=30)
            outputs = [{"name": "total", "value": 10400.5}, {"name": "note", "value": "ünïcödé ✓"}]
            state = {"journal": [{"book": "x", "value": [1, 2.5, None, True]}]}
            outcome = Outcome(
                made.id,
                claimed.attempt,
                RunState.SUCCEEDED,
                outputs=outputs,
                exec_state=state,
                log=[{"text": "hi"}],
            )
            [ok] = writer.execution.finish([outcome])
            assert ok
            for store in (writer, reader):
                run = store.runs.get(made.id)
                assert run is not None
                assert run.outputs == outputs and run.inputs == new.inputs and run.exec_state == state
                assert run.archived is False and run.cancel_requested is False and run.lease_owner is None
                assert run.created_at == new.created_at and run.created_at.tzinfo is not None
                assert run.finished_at is not None and run.started_at is not None
                assert run.finished_at - run.started_at < timedelta(minutes=1)
                assert store.processes.get(process.id) == reader.processes.get(process.id)
            assert writer.runs.events(made.id) == reader.runs.events(made.id)
            assert [e.kind for e in reader.runs.events(made.id)] == ["created", "state", "log", "state"]
    finally:
        fast.dispose()
        general.dispose()
