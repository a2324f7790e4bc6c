"""The Test Suite in the store: test cases, test runs and their per-case results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from plainrun.domain.clock import utcnow
from plainrun.domain.testsuite import TestCase, TestResult, TestRun
from plainrun.errors import Conflict
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param, params_in

tc, tr, res = t.test_cases.c, t.test_runs.c, t.test_results.c
_INSERT_CASES = sa.insert(t.test_cases)
_CASE = sa.select(t.test_cases).where(tc.id == param(tc.id))
_CASES = sa.select(t.test_cases).where(tc.process_id.in_(params_in(tc.process_id, "ids"))).order_by(tc.id)
_DELETE_CASE = sa.delete(t.test_cases).where(tc.id == param(tc.id))
_CASE_OF_RUN = sa.select(t.test_cases).where(tc.source_run_id == param(tc.source_run_id))
_SET_EXPECTED = (
    sa.update(t.test_cases).where(tc.id == param(tc.id, "b_id")).values(expected=param(tc.expected))
)
_INSERT_RUN = sa.insert(t.test_runs)
_INSERT_RESULTS = sa.insert(t.test_results)
_RUN = sa.select(t.test_runs).where(tr.id == param(tr.id))
_RESULTS = (
    sa.select(t.test_results).where(res.test_run_id == param(res.test_run_id)).order_by(res.test_case_id)
)
_PAGE = (
    sa.select(t.test_runs)
    .where(tr.agent_id == param(tr.agent_id))
    .order_by(tr.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_PAGE_BEFORE = _PAGE.where(tr.id < param(tr.id, "before"))
_SETTLE = (
    sa.update(t.test_results)
    .where(
        res.test_run_id == param(res.test_run_id, "b_run"),
        res.test_case_id == param(res.test_case_id, "b_case"),
        res.status == "Pending",
    )
    .values(status=param(res.status), diff=param(res.diff))
)
_END = (
    sa.update(t.test_runs)
    .where(tr.id == param(tr.id, "b_id"), tr.state == "Running")
    .values(state=param(tr.state), finished_at=param(tr.finished_at))
)


class TestSuiteSql(Part):
    __test__ = False  # not a pytest class

    def add_cases(self, cases: Sequence[TestCase]) -> None:
        """Insert test cases; a run is the source of one case at most (a unique index holds it)."""
        if not cases:
            return
        try:
            with self.db.write() as tx:
                tx.execute_many(_INSERT_CASES, [asdict(c) for c in cases])
        except sa.exc.IntegrityError:
            raise Conflict("A run is already a test case.") from None

    def case_of_run(self, run_id: str) -> TestCase | None:
        """The test case made from a run, if there is one."""
        with self.db.read() as tx:
            row = tx.first(_CASE_OF_RUN, {"source_run_id": run_id})
        return TestCase(**row) if row else None

    def set_expected(self, case_id: str, expected: list[dict[str, Any]]) -> bool:
        with self.db.write() as tx:
            return tx.run(_SET_EXPECTED, {"b_id": case_id, "expected": expected}) == 1

    def case(self, case_id: str) -> TestCase | None:
        with self.db.read() as tx:
            row = tx.first(_CASE, {"id": case_id})
        return TestCase(**row) if row else None

    def cases(self, process_ids: Sequence[str]) -> list[TestCase]:
        with self.db.read() as tx:
            return [TestCase(**row) for row in tx.rows(_CASES, {"ids": list(process_ids)})]

    def delete_case(self, case_id: str) -> bool:
        with self.db.write() as tx:
            return tx.run(_DELETE_CASE, {"id": case_id}) == 1

    def create_run(self, run: TestRun, results: Sequence[TestResult]) -> None:
        with self.db.write() as tx:
            tx.run(_INSERT_RUN, asdict(run))
            tx.execute_many(_INSERT_RESULTS, [asdict(r) for r in results])

    def run(self, test_run_id: str) -> tuple[TestRun, list[TestResult]] | None:
        with self.db.read() as tx:
            row = tx.first(_RUN, {"id": test_run_id})
            if row is None:
                return None
            results = tx.rows(_RESULTS, {"test_run_id": test_run_id})
        return TestRun(**row), [TestResult(**r) for r in results]

    def page(self, agent_id: str, *, before_id: str | None = None, limit: int = 50) -> list[TestRun]:
        """An agent's test runs, newest first, after ``before_id``."""
        with self.db.read() as tx:
            if before_id is None:
                rows = tx.rows(_PAGE, {"agent_id": agent_id, "limit": limit})
            else:
                rows = tx.rows(_PAGE_BEFORE, {"agent_id": agent_id, "before": before_id, "limit": limit})
        return [TestRun(**r) for r in rows]

    def settle(self, test_run_id: str, updates: Sequence[TestResult], *, state: str | None = None) -> None:
        """Record results that became known (only results still Pending change), and the run's end."""
        with self.db.write() as tx:
            for r in updates:
                tx.run(
                    _SETTLE,
                    {"b_run": test_run_id, "b_case": r.test_case_id, "status": r.status, "diff": r.diff},
                )
            if state is not None:
                tx.run(_END, {"b_id": test_run_id, "state": state, "finished_at": utcnow()})
