"""The Test Suite in the store: test cases, test runs and their per-case results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from plainrun.store import schema as t
from plainrun.store.sql import SqlStore, utcnow


@dataclass(frozen=True, slots=True)
class TestCase:
    id: str
    agent_id: str
    process_id: str
    name: str
    inputs: list[dict[str, Any]]
    file_ids: list[str]
    #: The outputs that count, ``[{"name", "value"}]``.
    expected: list[dict[str, Any]]
    source_run_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TestResult:
    test_run_id: str
    test_case_id: str
    process_id: str
    name: str
    run_id: str | None
    #: Pending, Passed, Failed, Guidance Required or Skipped.
    status: str
    diff: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class TestRun:
    id: str
    agent_id: str
    stage: str
    process_ids: list[str]
    #: Running, Finished or Stopped.
    state: str
    created_at: datetime
    finished_at: datetime | None


def _make(cls: type, row: RowMapping) -> Any:
    return cls(**{k: row[k] for k in cls.__slots__})


def add_test_cases(store: SqlStore, cases: Sequence[TestCase]) -> None:
    if cases:
        with store.write() as conn:
            conn.execute(sa.insert(t.test_cases), [asdict(c) for c in cases])


def get_test_case(store: SqlStore, case_id: str) -> TestCase | None:
    with store.read() as conn:
        row = conn.execute(sa.select(t.test_cases).where(t.test_cases.c.id == case_id)).mappings().first()
    return _make(TestCase, row) if row else None


def list_test_cases(store: SqlStore, process_ids: Sequence[str]) -> list[TestCase]:
    with store.read() as conn:
        rows = (
            conn.execute(
                sa.select(t.test_cases)
                .where(t.test_cases.c.process_id.in_(list(process_ids)))
                .order_by(t.test_cases.c.id)
            )
            .mappings()
            .all()
        )
    return [_make(TestCase, r) for r in rows]


def delete_test_case(store: SqlStore, case_id: str) -> bool:
    with store.write() as conn:
        return conn.execute(sa.delete(t.test_cases).where(t.test_cases.c.id == case_id)).rowcount == 1


def create_test_run(store: SqlStore, run: TestRun, results: Sequence[TestResult]) -> None:
    with store.write() as conn:
        conn.execute(sa.insert(t.test_runs).values(asdict(run)))
        if results:
            conn.execute(sa.insert(t.test_results), [asdict(r) for r in results])


def get_test_run(store: SqlStore, test_run_id: str) -> tuple[TestRun, list[TestResult]] | None:
    with store.read() as conn:
        row = conn.execute(sa.select(t.test_runs).where(t.test_runs.c.id == test_run_id)).mappings().first()
        if row is None:
            return None
        results = (
            conn.execute(
                sa.select(t.test_results)
                .where(t.test_results.c.test_run_id == test_run_id)
                .order_by(t.test_results.c.test_case_id)
            )
            .mappings()
            .all()
        )
    return _make(TestRun, row), [_make(TestResult, r) for r in results]


def list_test_runs(store: SqlStore, agent_id: str, *, limit: int = 50) -> list[TestRun]:
    with store.read() as conn:
        rows = (
            conn.execute(
                sa.select(t.test_runs)
                .where(t.test_runs.c.agent_id == agent_id)
                .order_by(t.test_runs.c.id.desc())
                .limit(limit)
            )
            .mappings()
            .all()
        )
    return [_make(TestRun, r) for r in rows]


def settle(
    store: SqlStore, test_run_id: str, updates: Sequence[TestResult], *, state: str | None = None
) -> None:
    """Record results that became known (only results still Pending change), and the run's end."""
    with store.write() as conn:
        for r in updates:
            conn.execute(
                sa.update(t.test_results)
                .where(
                    t.test_results.c.test_run_id == test_run_id,
                    t.test_results.c.test_case_id == r.test_case_id,
                    t.test_results.c.status == "Pending",
                )
                .values(status=r.status, diff=r.diff)
            )
        if state is not None:
            conn.execute(
                sa.update(t.test_runs)
                .where(t.test_runs.c.id == test_run_id, t.test_runs.c.state == "Running")
                .values(state=state, finished_at=utcnow())
            )
