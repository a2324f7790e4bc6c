"""The Test Suite in the store: cases, test runs, results settled once."""

from __future__ import annotations

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.testsuite import TestCase, TestResult, TestRun
from plainrun.store import Store
from tests.contract.conftest import make_process


def test_cases_runs_and_results(store: Store) -> None:
    process = make_process(store)
    cases = [
        TestCase(
            ids.new_id(),
            process.agent_id,
            process.id,
            f"case {i}",
            [{"name": "a", "value": i}],
            [],
            [{"name": "x", "value": i}],
            None,
            utcnow(),
        )
        for i in range(2)
    ]
    store.tests.add_cases(cases)
    assert store.tests.cases([process.id]) == cases and store.tests.case(cases[0].id) == cases[0]
    test_run = TestRun(ids.new_id(), process.agent_id, "Draft", [process.id], "Running", utcnow(), None)
    results = [TestResult(test_run.id, c.id, process.id, c.name, None, "Pending", None) for c in cases]
    store.tests.create_run(test_run, results)
    passed = TestResult(test_run.id, cases[0].id, process.id, cases[0].name, None, "Passed", None)
    store.tests.settle(test_run.id, [passed])
    failed = TestResult(test_run.id, cases[0].id, process.id, cases[0].name, None, "Failed", [])
    store.tests.settle(test_run.id, [failed])  # a result is settled once
    found = store.tests.run(test_run.id)
    assert found is not None and [r.status for r in found[1]] == ["Passed", "Pending"]
    store.tests.settle(test_run.id, [], state="Finished")
    store.tests.settle(test_run.id, [], state="Stopped")  # ended already
    found = store.tests.run(test_run.id)
    assert found is not None and found[0].state == "Finished" and found[0].finished_at is not None
    assert store.tests.page(process.agent_id) == [found[0]]
    assert store.tests.delete_case(cases[0].id) and store.tests.cases([process.id]) == cases[1:]
