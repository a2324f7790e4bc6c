"""Migration 0017 on a database that has runs already: their names are folded and indexed, so a
search by name finds them, and the runs made after it are indexed by the triggers."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from plainrun.domain.runs import RunQuery
from plainrun.store import migrate, open_store
from tests.contract.conftest import new_runs
from tests.contract.test_migration_names import T0, empty_database  # noqa: F401  (a fixture)

_RUN_0016 = sa.table(
    "runs",
    *(
        sa.column(name)
        for name in [
            "id",
            "agent_id",
            "process_id",
            "name",
            "stage",
            "version",
            "sha256",
            "state",
            "inputs",
            "file_ids",
            "trigger",
            "max_attempts",
            "timeout_s",
            "created_at",
        ]
    ),
)


def _old_run(run_id: str, name: str) -> dict[str, Any]:
    return {
        "id": run_id,
        "agent_id": "a1",
        "process_id": "p1",
        "name": name,
        "stage": "Draft",
        "version": 0,
        "sha256": "s" * 64,
        "state": "Succeeded",
        "inputs": "[]",
        "file_ids": "[]",
        "trigger": "api",
        "max_attempts": 1,
        "timeout_s": 60.0,
        "created_at": T0,
    }


def test_older_runs_are_found_by_name_after_the_migration(empty_database: str) -> None:  # noqa: F811
    engine = sa.create_engine(empty_database)
    try:
        migrate.upgrade(engine, "0016")
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO agents (id, name, created_at) VALUES ('a1', 'a', :t)"), {"t": T0}
            )
            conn.execute(
                sa.text("INSERT INTO sources (sha256, text) VALUES (:s, 'to p\n  say 1\n')"), {"s": "s" * 64}
            )
            conn.execute(
                sa.text(
                    "INSERT INTO processes (id, agent_id, name, name_key, description, draft_sha256,"
                    " draft_revision, settings, created_at, updated_at) VALUES"
                    " ('p1', 'a1', 'p', 'p', '', :s, 1, '{}', :t, :t)"
                ),
                {"s": "s" * 64, "t": T0},
            )
            conn.execute(sa.insert(_RUN_0016), [_old_run("r1", "Invoice Ä-17"), _old_run("r2", "other")])
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    store = open_store(empty_database)
    try:
        agent = RunQuery(agent_id="a1")
        assert [r.id for r in store.runs.page(dataclasses.replace(agent, name="invoice ä"), limit=10)] == [
            "r1"
        ]
        process = store.processes.get("p1")
        assert process is not None
        [new] = new_runs(store, 1, process=process)
        store.runs.create([dataclasses.replace(new, name="Invoice Ä-18")])
        found = store.runs.page(dataclasses.replace(agent, name="INVOICE Ä"), limit=10)
        assert sorted(r.name for r in found) == ["Invoice Ä-17", "Invoice Ä-18"]
        assert store.runs.count(dataclasses.replace(agent, name="ä-1")) == 2
    finally:
        store.dispose()
