"""The Test Suite's pages: a process's test cases and test runs, each result with its outputs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from plainrun.domain.runs import Stage
from plainrun.errors import NotFound
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages

router = APIRouter(dependencies=[Depends(check_csrf)])


@router.get("/processes/{process_id}/tests")
def tests_page(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    cases = services.tests.cases(viewer.principal, agent_id=process.agent_id, process_id=process.id)
    history = [
        r
        for r in services.tests.history(viewer.principal, process.agent_id).items
        if process.id in r.process_ids
    ][:20]
    return pages(request).render(request, "tests.html", process=process, cases=cases, history=history)


@router.post("/processes/{process_id}/tests")
def run_tests(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    stage: Annotated[Stage, Form()] = Stage.PUBLISHED,
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    test_run, _ = services.tests.start(
        viewer.principal, agent_id=process.agent_id, process_ids=[process.id], stage=stage
    )
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


@router.get("/test-runs/{test_run_id}")
def test_run_page(request: Request, test_run_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    test_run, results = services.tests.get(viewer.principal, test_run_id)
    if not test_run.process_ids:
        raise NotFound("The test run was not found.")
    process = services.processes.get(viewer.principal, test_run.process_ids[0])
    cases = {
        c.id: c
        for c in services.tests.cases(viewer.principal, agent_id=process.agent_id, process_id=process.id)
    }
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return pages(request).render(
        request,
        "test_run.html",
        process=process,
        test_run=test_run,
        results=results,
        cases=cases,
        counts=counts,
    )


@router.post("/test-runs/{test_run_id}/stop")
def stop_test_run(request: Request, test_run_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    services.tests.stop(viewer.principal, test_run_id)
    return RedirectResponse(f"{UI}/test-runs/{test_run_id}", status_code=303)
