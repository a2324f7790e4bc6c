"""Re-runs and the Test Suite: test cases from runs, replayed against the current version.

A test run starts one real run per test case (trigger ``test``) and judges each when that run
settles: Passed when every expected output has its value; Failed with a diff (Output Mismatch,
Output Not Found, or the run's own failure); Guidance Required when the run stopped on a question
(that run is then cancelled); Skipped when the stage has nothing to run, or the test run was stopped.
Results are judged when the test run is read, so no process has to watch it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from plainrun import ids
from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.errors import Conflict, InvalidInput, NotFound, PlainrunError
from plainrun.services.access import Principal
from plainrun.services.runs import RunService
from plainrun.store import testsuite as db
from plainrun.store.records import Run
from plainrun.store.sql import SqlStore, utcnow

MAX_CASES_PER_TEST_RUN = 500


def judge(expected: Sequence[dict[str, Any]], run: Run) -> tuple[str, list[dict[str, Any]] | None]:
    """A settled run against a test case's expected outputs: (status, diff)."""
    if run.state is RunState.AWAITING_GUIDANCE:
        question = (run.error or {}).get("message", "")
        return "Guidance Required", [{"problem": "Guidance Required", "question": question}]
    if run.state is not RunState.SUCCEEDED:
        message = (run.error or {}).get("message", run.state.value)
        return "Failed", [{"problem": "Run Failed", "state": run.state.value, "message": message}]
    actual = {o["name"]: o["value"] for o in run.outputs or []}
    diff = []
    for item in expected:
        if item["name"] not in actual:
            diff.append({"problem": "Output Not Found", "name": item["name"], "expected": item["value"]})
        elif actual[item["name"]] != item["value"]:
            diff.append(
                {
                    "problem": "Output Mismatch",
                    "name": item["name"],
                    "expected": item["value"],
                    "actual": actual[item["name"]],
                }
            )
    return ("Failed", diff) if diff else ("Passed", None)


class TestSuiteService:
    __test__ = False  # not a pytest class

    def __init__(self, store: SqlStore, runs: RunService):
        self.store = store
        self.runs = runs

    # --- re-runs -------------------------------------------------------------------------

    def rerun(self, principal: Principal, run_ids: Sequence[str]) -> list[dict[str, str]]:
        """New runs with the same inputs, files and stage, at the stage's current version."""
        out = []
        for run_id in run_ids:
            try:
                original = self.runs.get(principal, run_id)
                new = self.runs.start(
                    principal,
                    agent_id=original.agent_id,
                    process_id=original.process_id,
                    stage=original.stage,
                    name=original.name,
                    inputs=original.inputs,
                    file_ids=original.file_ids,
                    trigger=Trigger.RERUN,
                    trigger_ref=original.id,
                    rerun_of=original.id,
                )
            except NotFound:
                out.append({"run_id": run_id, "result": "not_found"})
            except PlainrunError as exc:
                out.append({"run_id": run_id, "result": "refused", "message": exc.message})
            else:
                out.append({"run_id": run_id, "result": "started", "new_run_id": new.id})
        return out

    # --- test cases ------------------------------------------------------------------------

    def add_cases(
        self, principal: Principal, run_ids: Sequence[str], *, outputs: Sequence[str] | None = None
    ) -> list[dict[str, str]]:
        """A test case from each succeeded run; ``outputs`` names the facts that count (default: all)."""
        out, cases = [], []
        for run_id in run_ids:
            try:
                run = self.runs.get(principal, run_id)
            except NotFound:
                out.append({"run_id": run_id, "result": "not_found"})
                continue
            if run.state is not RunState.SUCCEEDED:
                out.append(
                    {
                        "run_id": run_id,
                        "result": "refused",
                        "message": "Only a succeeded run makes a test case.",
                    }
                )
                continue
            expected = [o for o in run.outputs or [] if outputs is None or o["name"] in outputs]
            if outputs is not None and len(expected) != len(set(outputs)):
                missing = sorted(set(outputs) - {o["name"] for o in expected})
                out.append(
                    {
                        "run_id": run_id,
                        "result": "refused",
                        "message": f"No such outputs: {', '.join(missing)}",
                    }
                )
                continue
            case = db.TestCase(
                id=ids.new_id(),
                agent_id=run.agent_id,
                process_id=run.process_id,
                name=run.name,
                inputs=run.inputs,
                file_ids=run.file_ids,
                expected=expected,
                source_run_id=run.id,
                created_at=utcnow(),
            )
            cases.append(case)
            out.append({"run_id": run_id, "result": "added", "test_case_id": case.id})
        db.add_test_cases(self.store, cases)
        return out

    def cases(self, principal: Principal, *, agent_id: str, process_id: str) -> list[db.TestCase]:
        self.runs.processes.get(principal, process_id, agent_id)
        return db.list_test_cases(self.store, [process_id])

    def remove_case(self, principal: Principal, case_id: str) -> None:
        case = db.get_test_case(self.store, case_id) if ids.is_id(case_id) else None
        if (
            case is None
            or not principal.can_see(case.agent_id)
            or not db.delete_test_case(self.store, case_id)
        ):
            raise NotFound("The test case was not found.")

    # --- test runs -------------------------------------------------------------------------

    def start(
        self, principal: Principal, *, agent_id: str, process_ids: Sequence[str], stage: Stage
    ) -> tuple[db.TestRun, list[db.TestResult]]:
        """Run the test cases of these processes against the stage's current version."""
        if not process_ids:
            raise InvalidInput("Name at least one process.")
        for process_id in process_ids:
            self.runs.processes.get(principal, process_id, agent_id)
        cases = db.list_test_cases(self.store, list(dict.fromkeys(process_ids)))
        if len(cases) > MAX_CASES_PER_TEST_RUN:
            raise InvalidInput(f"A test run takes at most {MAX_CASES_PER_TEST_RUN} test cases.")
        test_run = db.TestRun(
            id=ids.new_id(),
            agent_id=agent_id,
            stage=stage.value,
            process_ids=list(dict.fromkeys(process_ids)),
            state="Running",
            created_at=utcnow(),
            finished_at=None,
        )
        results = []
        for case in cases:
            run_id, status, diff = None, "Pending", None
            try:
                run_id = self.runs.start(
                    principal,
                    agent_id=agent_id,
                    process_id=case.process_id,
                    stage=stage,
                    name=f"test: {case.name}"[:100],
                    inputs=case.inputs,
                    file_ids=case.file_ids,
                    trigger=Trigger.TEST,
                    trigger_ref=test_run.id,
                ).id
            except PlainrunError as exc:
                status, diff = "Skipped", [{"problem": "Skipped", "message": exc.message}]
            results.append(
                db.TestResult(test_run.id, case.id, case.process_id, case.name, run_id, status, diff)
            )
        db.create_test_run(self.store, test_run, results)
        return self.get(principal, test_run.id)

    def get(self, principal: Principal, test_run_id: str) -> tuple[db.TestRun, list[db.TestResult]]:
        """A test run with every result judged that can be judged now."""
        found = db.get_test_run(self.store, test_run_id) if ids.is_id(test_run_id) else None
        if found is None or not principal.can_see(found[0].agent_id):
            raise NotFound("The test run was not found.")
        test_run, results = found
        if test_run.state != "Running":
            return test_run, results
        pending = [r for r in results if r.status == "Pending"]
        runs = self.store.get_runs([r.run_id for r in pending if r.run_id])
        cases = {c.id: c for c in db.list_test_cases(self.store, test_run.process_ids)}
        updates = []
        for r in pending:
            run = runs.get(r.run_id or "")
            if run is None or not (run.state.is_final or run.state is RunState.AWAITING_GUIDANCE):
                continue
            case = cases.get(r.test_case_id)
            status, diff = judge(case.expected if case else [], run)
            if run.state is RunState.AWAITING_GUIDANCE:
                self._cancel_quietly(run.id)
            updates.append(
                db.TestResult(r.test_run_id, r.test_case_id, r.process_id, r.name, r.run_id, status, diff)
            )
        done = len(updates) == len(pending)
        if updates or done:
            db.settle(self.store, test_run.id, updates, state="Finished" if done else None)
            return db.get_test_run(self.store, test_run.id)  # type: ignore[return-value]
        return test_run, results

    def stop(self, principal: Principal, test_run_id: str) -> tuple[db.TestRun, list[db.TestResult]]:
        test_run, results = self.get(principal, test_run_id)
        if test_run.state != "Running":
            raise Conflict(f"The test run has already ended ({test_run.state}).")
        skipped = []
        for r in results:
            if r.status == "Pending":
                if r.run_id:
                    self._cancel_quietly(r.run_id)
                skipped.append(
                    db.TestResult(
                        r.test_run_id,
                        r.test_case_id,
                        r.process_id,
                        r.name,
                        r.run_id,
                        "Skipped",
                        [{"problem": "Skipped", "message": "The test run was stopped."}],
                    )
                )
        db.settle(self.store, test_run_id, skipped, state="Stopped")
        return db.get_test_run(self.store, test_run_id)  # type: ignore[return-value]

    def history(self, principal: Principal, agent_id: str) -> list[db.TestRun]:
        if not principal.can_see(agent_id) or self.store.get_agent(agent_id) is None:
            raise NotFound("The agent was not found.")
        return db.list_test_runs(self.store, agent_id)

    def _cancel_quietly(self, run_id: str) -> None:
        with contextlib.suppress(Conflict, NotFound):  # it ended meanwhile
            self.store.cancel_run(run_id, reason="test run")
