"""Re-runs and the Test Suite: test cases from runs, replayed against the current version.

A test run starts one real run per test case (trigger ``test``) and judges each when that run
settles: Passed when every expected output has its value; Failed with a diff (Output Mismatch,
Output Not Found, or the run's own failure); Guidance Required when the run stopped on a question
(that run is then cancelled); Skipped when the stage has nothing to run, or the test run was stopped.
Results are judged when the test run is read, so no process has to watch it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.idempotency import INSTALLATION, Key, check_key, fingerprint
from plainrun.domain.pages import Page, Pager
from plainrun.domain.runs import NewRun, Run, RunState, Stage, Trigger
from plainrun.domain.testsuite import TestCase, TestResult, TestRun, judge, settled
from plainrun.errors import Conflict, InvalidInput, NotFound, PlainrunError
from plainrun.services.access import Principal
from plainrun.services.runs import RunRequest, RunService
from plainrun.store import Store

MAX_CASES_PER_TEST_RUN = 500
MAX_PAGE = 100


def _bulk_result(run_id: str, result: Run | NewRun | PlainrunError) -> dict[str, str]:
    if isinstance(result, NotFound):
        return {"run_id": run_id, "result": "not_found"}
    if isinstance(result, PlainrunError):
        return {"run_id": run_id, "result": "refused", "message": result.message}
    return {"run_id": run_id, "result": "started", "new_run_id": result.id}


class TestSuiteService:
    __test__ = False  # not a pytest class

    def __init__(self, store: Store, runs: RunService, *, secret: bytes):
        self.store = store
        self.runs = runs
        self._pages = Pager(secret, "test-runs")

    # --- re-runs -------------------------------------------------------------------------

    def rerun(self, principal: Principal, run_ids: Sequence[str]) -> list[dict[str, str]]:
        """New runs with the same inputs, files and stage, at the stage's current version; per id."""
        originals = self._originals(principal, run_ids)
        requests = [self.runs.rerun_request(o) for o in originals if isinstance(o, Run)]
        started = iter(self.runs.start_many(principal, requests))
        return [
            _bulk_result(run_id, next(started) if isinstance(o, Run) else o)
            for run_id, o in zip(run_ids, originals, strict=True)
        ]

    def rerun_once(
        self, principal: Principal, run_ids: Sequence[str], key: str
    ) -> tuple[list[dict[str, str]], bool]:
        """:meth:`rerun` under an Idempotency-Key: the results and True the first time; the first
        results again and False for a retry with the same ids (a 422 with other ids)."""
        scope = principal.agent_id or INSTALLATION
        keyed = Key(scope, check_key(key), fingerprint("rerun", {"run_ids": list(run_ids)}))

        def build() -> tuple[list[NewRun], dict[str, Any]]:
            originals = self._originals(principal, run_ids)
            requests = [self.runs.rerun_request(o) for o in originals if isinstance(o, Run)]
            prepared = iter(self.runs.prepare_many(principal, requests))
            made = [next(prepared) if isinstance(o, Run) else o for o in originals]
            results = [_bulk_result(run_id, m) for run_id, m in zip(run_ids, made, strict=True)]
            return [m for m in made if isinstance(m, NewRun)], {"results": results}

        result, first = self.runs.once(keyed, build)
        return list(result["results"]), first

    def _originals(self, principal: Principal, run_ids: Sequence[str]) -> list[Run | PlainrunError]:
        originals: list[Run | PlainrunError] = []
        for run_id in run_ids:
            try:
                originals.append(self.runs.get(principal, run_id))
            except NotFound as exc:
                originals.append(exc)
        return originals

    # --- test cases ------------------------------------------------------------------------

    def add_cases(
        self, principal: Principal, run_ids: Sequence[str], *, outputs: Sequence[str] | None = None
    ) -> list[dict[str, str]]:
        """A test case from each succeeded run; ``outputs`` names the facts that count (default: all)."""
        out: list[dict[str, str]] = []
        cases: list[TestCase] = []
        for run_id in run_ids:
            try:
                run = self.runs.get(principal, run_id)
            except NotFound:
                out.append({"run_id": run_id, "result": "not_found"})
                continue
            earlier = self.store.tests.case_of_run(run.id)
            if earlier is not None or any(c.source_run_id == run.id for c in cases):
                name = earlier.name if earlier else run.name
                message = f"The run is already the test case “{name}”."
                out.append({"run_id": run_id, "result": "refused", "message": message})
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
            case = TestCase(
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
        self.store.tests.add_cases(cases)
        return out

    def cases(self, principal: Principal, *, agent_id: str, process_id: str) -> list[TestCase]:
        self.runs.processes.get(principal, process_id, agent_id)
        return self.store.tests.cases([process_id])

    def case(self, principal: Principal, case_id: str) -> TestCase:
        case = self.store.tests.case(case_id) if ids.is_id(case_id) else None
        if case is None or not principal.can_see(case.agent_id):
            raise NotFound("The test case was not found.")
        return case

    def accept(self, principal: Principal, case_id: str, test_run_id: str, output: str) -> TestCase:
        """Make a test run's actual value of ``output`` the case's expected value."""
        case = self.case(principal, case_id)
        _, results = self.get(principal, test_run_id)
        result = next((r for r in results if r.test_case_id == case.id), None)
        if result is None or result.run_id is None:
            raise NotFound("The test case has no result in this test run.")
        actual = {o["name"]: o["value"] for o in self.runs.get(principal, result.run_id).outputs or []}
        if output not in actual:
            raise InvalidInput("The run has no such output.", details=[("output", output[:100])])
        kept = [o for o in case.expected if o["name"] != output]
        expected = [*kept, {"name": output, "value": actual[output]}]
        return self._set_expected(case, sorted(expected, key=lambda o: _position(case, o["name"])))

    def compare_outputs(self, principal: Principal, case_id: str, names: Sequence[str]) -> TestCase:
        """Choose the outputs a case compares: each keeps its expected value, or takes the value of
        the run the case was made from."""
        case = self.case(principal, case_id)
        known = {o["name"]: o for o in self.outputs_of(principal, case)}
        known.update({o["name"]: o for o in case.expected})
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InvalidInput(
                "The case has no such outputs.", details=[("output", n[:100]) for n in unknown]
            )
        return self._set_expected(case, [known[n] for n in known if n in names])

    def outputs_of(self, principal: Principal, case: TestCase) -> list[dict[str, Any]]:
        """The outputs of the run a case was made from (none when that run is gone)."""
        if case.source_run_id is None:
            return []
        try:
            return list(self.runs.get(principal, case.source_run_id).outputs or [])
        except NotFound:
            return []

    def _set_expected(self, case: TestCase, expected: list[dict[str, Any]]) -> TestCase:
        if not self.store.tests.set_expected(case.id, expected):
            raise NotFound("The test case was not found.")
        return dataclasses.replace(case, expected=expected)

    def remove_case(self, principal: Principal, case_id: str) -> None:
        case = self.store.tests.case(case_id) if ids.is_id(case_id) else None
        if case is None or not principal.can_see(case.agent_id) or not self.store.tests.delete_case(case_id):
            raise NotFound("The test case was not found.")

    # --- test runs -------------------------------------------------------------------------

    def start(
        self, principal: Principal, *, agent_id: str, process_ids: Sequence[str], stage: Stage
    ) -> tuple[TestRun, list[TestResult]]:
        """Run the test cases of these processes against the stage's current version."""
        if not process_ids:
            raise InvalidInput("Name at least one process.")
        for process_id in process_ids:
            self.runs.processes.get(principal, process_id, agent_id)
        wanted = list(dict.fromkeys(process_ids))
        cases = self.store.tests.cases(wanted)
        if len(cases) > MAX_CASES_PER_TEST_RUN:
            raise InvalidInput(f"A test run takes at most {MAX_CASES_PER_TEST_RUN} test cases.")
        test_run = TestRun(
            id=ids.new_id(),
            agent_id=agent_id,
            stage=stage.value,
            process_ids=wanted,
            state="Running",
            created_at=utcnow(),
            finished_at=None,
        )
        requests = [
            RunRequest(
                agent_id=agent_id,
                process_id=case.process_id,
                stage=stage,
                name=f"test: {case.name}"[:100],
                inputs=case.inputs,
                file_ids=case.file_ids,
                trigger=Trigger.TEST,
                trigger_ref=test_run.id,
            )
            for case in cases
        ]
        results = []
        for case, started in zip(cases, self.runs.start_many(principal, requests), strict=True):
            if isinstance(started, PlainrunError):
                skipped = [{"problem": "Skipped", "message": started.message}]
                results.append(
                    TestResult(test_run.id, case.id, case.process_id, case.name, None, "Skipped", skipped)
                )
            else:
                results.append(
                    TestResult(test_run.id, case.id, case.process_id, case.name, started.id, "Pending", None)
                )
        self.store.tests.create_run(test_run, results)
        return self.get(principal, test_run.id)

    def get(self, principal: Principal, test_run_id: str) -> tuple[TestRun, list[TestResult]]:
        """A test run with every result judged that can be judged now."""
        found = self.store.tests.run(test_run_id) if ids.is_id(test_run_id) else None
        if found is None or not principal.can_see(found[0].agent_id):
            raise NotFound("The test run was not found.")
        test_run, results = found
        if test_run.state != "Running":
            return test_run, results
        pending = [r for r in results if r.status == "Pending"]
        runs = self.store.runs.get_many([r.run_id for r in pending if r.run_id])
        cases = {c.id: c for c in self.store.tests.cases(test_run.process_ids)}
        updates = []
        for r in pending:
            run = runs.get(r.run_id or "")
            if run is None or not settled(run):
                continue
            case = cases.get(r.test_case_id)
            status, diff = judge(case.expected if case else [], run)
            if run.state is RunState.AWAITING_GUIDANCE:
                self._cancel_quietly(run.id)
            updates.append(
                TestResult(r.test_run_id, r.test_case_id, r.process_id, r.name, r.run_id, status, diff)
            )
        done = len(updates) == len(pending)
        if updates or done:
            self.store.tests.settle(test_run.id, updates, state="Finished" if done else None)
            return self._read(test_run.id)
        return test_run, results

    def stop(self, principal: Principal, test_run_id: str) -> tuple[TestRun, list[TestResult]]:
        test_run, results = self.get(principal, test_run_id)
        if test_run.state != "Running":
            raise Conflict(f"The test run has already ended ({test_run.state}).")
        skipped = []
        for r in results:
            if r.status == "Pending":
                if r.run_id:
                    self._cancel_quietly(r.run_id)
                skipped.append(
                    TestResult(
                        r.test_run_id,
                        r.test_case_id,
                        r.process_id,
                        r.name,
                        r.run_id,
                        "Skipped",
                        [{"problem": "Skipped", "message": "The test run was stopped."}],
                    )
                )
        self.store.tests.settle(test_run_id, skipped, state="Stopped")
        return self._read(test_run_id)

    def history(
        self,
        principal: Principal,
        agent_id: str,
        *,
        limit: int = MAX_PAGE,
        continuation_token: str | None = None,
    ) -> Page[TestRun]:
        """An agent's test runs, newest first, in keyset pages."""
        self.runs.processes.agents.get(principal, agent_id)
        query = {"a": agent_id}
        before = self._pages.position(continuation_token, query)
        rows = self.store.tests.page(agent_id, before_id=before, limit=limit + 1)
        return self._pages.page(rows, limit, query, key=lambda r: r.id)

    def _read(self, test_run_id: str) -> tuple[TestRun, list[TestResult]]:
        found = self.store.tests.run(test_run_id)
        if found is None:
            raise NotFound("The test run was not found.")
        return found

    def _cancel_quietly(self, run_id: str) -> None:
        with contextlib.suppress(Conflict, NotFound):  # it ended meanwhile
            self.store.execution.cancel(run_id, reason="test run")


def _position(case: TestCase, name: str) -> int:
    names = [o["name"] for o in case.expected]
    return names.index(name) if name in names else len(names)
