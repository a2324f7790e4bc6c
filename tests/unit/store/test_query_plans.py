"""The run engine's hot statements, and the pages' heavy ones, use the indexes made for them, on
the embedded database.

A state written as a bound parameter hides from SQLite's planner that a partial index covers the
query (``ix_runs_pending`` is on ``state = 'Pending'``): the claim then scans every run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from plainrun.store import Store, open_store
from plainrun.store.sql import days, execution, runs


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = open_store(sqlite_url)
    store.create_schema()
    yield store
    store.dispose()


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        (execution._CLAIM_OLDEST, "ix_runs_pending"),
        (execution._EXPIRED, "ix_runs_leases"),
        (execution._LIMITED, "ix_processes_limited"),
        (runs._page_statement(frozenset({"agent", "archived", "no_tests", "name"})), "ix_runs_agent_list"),
        (runs._count_statement(frozenset({"agent", "archived", "no_tests", "name"})), "ix_runs_agent_list"),
        (days._FACTS, "ix_runs_agent_list"),
        (days._OPEN_FACTS, "sqlite_autoindex_runs_1"),
    ],
    ids=[
        "claim",
        "recovery",
        "limited processes",
        "search by name",
        "search's count",
        "a day's runs",
        "open runs",
    ],
)
def test_the_statement_uses_its_index(store: Store, statement: sa.Executable, index: str) -> None:
    database = store.database  # type: ignore[attr-defined]
    compiled = statement.compile(dialect=database.engine.dialect)  # type: ignore[attr-defined]
    sql = compiled.string
    if compiled.post_compile_params:  # an IN (…) of values given in the statement
        sql = compiled.construct_expanded_state({k: None for k in compiled.binds}).statement
    with database.read() as tx:
        plan = tx.cursor.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?"))
        steps = [row[-1] for row in plan.fetchall()]
    assert any(index in step for step in steps), steps
    assert not any(step == "SCAN runs" for step in steps), steps
