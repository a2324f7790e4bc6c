"""The Test Suite's pages: a process's test cases (which outputs each compares) and test runs
(counts by status; a failing case with all its outputs, the differing ones marked, and the actual
value to accept)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from plainrun.domain.runs import Stage
from plainrun.domain.testsuite import TestCase, TestResult
from plainrun.errors import InvalidInput, NotFound
from plainrun.http.web import forms
from plainrun.http.web.forms import Typed
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages

router = APIRouter(dependencies=[Depends(check_csrf)])

STATUSES = ("Passed", "Failed", "Guidance Required", "Skipped", "Pending")


def _counts(results: list[TestResult]) -> dict[str, int]:
    """How many results of each status (every status, none left out)."""
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def _tests_page(
    request: Request, services: ServicesDep, viewer: ViewerDep, process_id: str, form: Typed | None = None
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    cases = services.tests.cases(viewer.principal, agent_id=process.agent_id, process_id=process.id)
    history = [
        r
        for r in services.tests.history(viewer.principal, process.agent_id).items
        if process.id in r.process_ids
    ][:20]
    counts = {r.id: _counts(services.tests.get(viewer.principal, r.id)[1]) for r in history}
    outputs = {c.id: _output_names(c, services.tests.outputs_of(viewer.principal, c)) for c in cases}
    return pages(request).render(
        request,
        "tests.html",
        form=form,
        process=process,
        cases=cases,
        history=history,
        counts=counts,
        outputs=outputs,
    )


@router.get("/processes/{process_id}/tests")
def tests_page(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    return _tests_page(request, services, viewer, process_id)


def _output_names(case: TestCase, outputs: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Each output a case can compare, and whether it does."""
    compared = {o["name"] for o in case.expected}
    names = [o["name"] for o in outputs] + [n for n in compared if n not in {o["name"] for o in outputs}]
    return [(name, name in compared) for name in names]


@router.post("/test-cases/{case_id}/outputs")
def compared_outputs(
    request: Request, case_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed(f"outputs-{case_id}", data, {"output": 100})
    case = services.tests.case(viewer.principal, case_id)
    try:
        if not form.errors:
            case = services.tests.compare_outputs(viewer.principal, case_id, form.all("output"))
    except InvalidInput as exc:
        form = form.refused(exc, default="output")
    if form.refused_any:
        return _tests_page(request, services, viewer, case.process_id, form)
    flash(request, f"The test case “{case.name}” compares {len(case.expected)} output(s).")
    return RedirectResponse(f"{UI}/processes/{case.process_id}/tests", status_code=303)


@router.post("/test-cases/{case_id}/accept")
def accept(
    request: Request, case_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("", data, {"test_run_id": 26, "output": 200})
    test_run_id, output = form.text("test_run_id"), form.text("output")
    form = dataclasses.replace(form, form=f"accept-{case_id}")  # which case's buttons
    try:
        if not form.errors:
            case = services.tests.accept(viewer.principal, case_id, test_run_id, output)
    except InvalidInput as exc:
        form = form.refused(exc, default="output")
    if form.refused_any:
        return test_run_view(request, services, viewer, test_run_id, form)
    flash(request, f"The test case “{case.name}” now expects the actual value of {output}.")
    return RedirectResponse(f"{UI}/test-runs/{test_run_id}", status_code=303)


@router.post("/processes/{process_id}/tests")
def run_tests(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("tests", data, {"stage": 20})
    process = services.processes.get(viewer.principal, process_id)
    try:
        stage = Stage(form.text("stage") or Stage.PUBLISHED.value)
    except ValueError:
        refusal = InvalidInput("Choose the Published version or the Draft.", details=[("stage", "")])
        return _tests_page(request, services, viewer, process.id, form.refused(refusal))
    try:
        test_run, _ = services.tests.start(
            viewer.principal, agent_id=process.agent_id, process_ids=[process.id], stage=stage
        )
    except InvalidInput as exc:
        return _tests_page(request, services, viewer, process.id, form.refused(exc, default="stage"))
    return RedirectResponse(f"{UI}/test-runs/{test_run.id}", status_code=303)


@router.post("/test-cases/{case_id}/remove")
def remove_case(
    request: Request,
    case_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    process_id: Annotated[str, Form(max_length=26)],
) -> Response:
    services.tests.remove_case(viewer.principal, case_id)
    flash(request, "Removed the test case.")
    return RedirectResponse(f"{UI}/processes/{process_id}/tests", status_code=303)


def test_run_view(
    request: Request, services: ServicesDep, viewer: ViewerDep, test_run_id: str, form: Typed | None = None
) -> Response:
    test_run, results = services.tests.get(viewer.principal, test_run_id)
    if not test_run.process_ids:
        raise NotFound("The test run was not found.")
    process = services.processes.get(viewer.principal, test_run.process_ids[0])
    cases = {
        c.id: c
        for c in services.tests.cases(viewer.principal, agent_id=process.agent_id, process_id=process.id)
    }
    actual = {
        r.test_case_id: {
            o["name"]: o["value"] for o in services.runs.get(viewer.principal, r.run_id).outputs or []
        }
        for r in results
        if r.status == "Failed" and r.run_id
    }
    return pages(request).render(
        request,
        "test_run.html",
        form=form,
        process=process,
        test_run=test_run,
        results=results,
        cases=cases,
        counts=_counts(results),
        actual=actual,
    )


@router.get("/test-runs/{test_run_id}")
def test_run_page(request: Request, test_run_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    return test_run_view(request, services, viewer, test_run_id)


@router.post("/test-runs/{test_run_id}/stop")
def stop_test_run(request: Request, test_run_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    services.tests.stop(viewer.principal, test_run_id)
    return RedirectResponse(f"{UI}/test-runs/{test_run_id}", status_code=303)
