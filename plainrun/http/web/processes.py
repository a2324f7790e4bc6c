"""Pages of agents and processes: the list, the process page with its draft editor, publishing,
versions, e-mail addresses, schedules and inputs; the manual run form; the Test Suite."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from plainrun.domain.processes import Process
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, NotFound
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages
from plainrun.services.compiler import ProcessSourceInvalid
from plainrun.services.container import Services
from plainrun.services.runs import RunRequest

router = APIRouter(dependencies=[Depends(check_csrf)])

_LINE = re.compile(r"line (\d+), column (\d+)")
MAX_UPLOADS = 20


def syntax_errors(exc: InvalidInput) -> list[dict[str, object]]:
    """The compiler's ``("line L, column C", message)`` details as ``{line, column, message}``."""
    out: list[dict[str, object]] = []
    for where, message in exc.details:
        found = _LINE.match(str(where))
        line, column = (int(found[1]), int(found[2])) if found else (0, 0)
        out.append({"line": line, "column": column, "message": str(message)})
    return out


@router.get("/")
def home(viewer: ViewerDep) -> Response:
    if viewer.agent_id is not None:
        return RedirectResponse(f"{UI}/agents/{viewer.agent_id}/processes", status_code=303)
    return RedirectResponse(f"{UI}/agents", status_code=303)


@router.get("/agents")
def agents(request: Request, viewer: ViewerDep, services: ServicesDep) -> Response:
    visible = services.agents.visible(viewer.principal)
    return pages(request).render(request, "agents.html", agents=visible)


def _processes_page(
    request: Request,
    services: Services,
    viewer: ViewerDep,
    agent_id: str,
    token: str | None,
    *,
    source: str = "",
    errors: list[dict[str, object]] | None = None,
    status_code: int = 200,
) -> Response:
    agent = services.agents.get(viewer.principal, agent_id)
    page = services.processes.page(viewer.principal, agent_id, limit=50, continuation_token=token)
    return pages(request).render(
        request,
        "processes.html",
        status_code=status_code,
        agent=agent,
        processes=page.items,
        next_token=page.continuation_token,
        source=source,
        errors=errors or [],
        error_lines={e["line"]: e["message"] for e in errors or []},
    )


@router.get("/agents/{agent_id}/processes")
def processes(
    request: Request,
    agent_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    return _processes_page(request, services, viewer, agent_id, continuation_token)


@router.post("/agents/{agent_id}/processes")
def create_process(
    request: Request,
    agent_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    source: Annotated[str, Form(max_length=1_000_000)],
) -> Response:
    try:
        process = services.processes.create(viewer.principal, agent_id=agent_id, source=source)
    except ProcessSourceInvalid as exc:
        return _processes_page(
            request,
            services,
            viewer,
            agent_id,
            None,
            source=source,
            errors=syntax_errors(exc),
            status_code=400,
        )
    flash(request, f"Created the process “{process.name}”.")
    return RedirectResponse(f"{UI}/processes/{process.id}", status_code=303)


def _process_page(
    request: Request,
    services: Services,
    viewer: ViewerDep,
    process: Process,
    *,
    source: str | None = None,
    errors: list[dict[str, object]] | None = None,
    status_code: int = 200,
) -> Response:
    principal = viewer.principal
    draft = services.processes.as_draft(process)
    return pages(request).render(
        request,
        "process.html",
        status_code=status_code,
        process=process,
        source=draft.source if source is None else source,
        saved=source is None,
        errors=errors or [],
        error_lines={e["line"]: e["message"] for e in errors or []},
        inputs=draft.inputs,
        versions=services.processes.versions(principal, process.id)[::-1],
        mail=services.mail.settings(principal, process.id),
        schedules=services.schedules.of_agent(principal, agent_id=process.agent_id, process_id=process.id),
    )


@router.get("/processes/{process_id}")
def process_page(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    return _process_page(request, services, viewer, process)


@router.post("/processes/{process_id}/draft")
def save_draft(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    source: Annotated[str, Form(max_length=1_000_000)],
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    source = source.replace("\r\n", "\n")
    try:
        process = services.processes.update_draft(viewer.principal, process.id, source=source)
    except ProcessSourceInvalid as exc:
        return _process_page(
            request, services, viewer, process, source=source, errors=syntax_errors(exc), status_code=400
        )
    flash(request, f"Saved the draft (revision {process.draft_revision}).")
    return RedirectResponse(f"{UI}/processes/{process.id}", status_code=303)


@router.post("/processes/{process_id}/publish")
def publish(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    version = services.processes.publish(viewer.principal, process_id)
    flash(request, f"Published version {version.version}.")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


@router.get("/processes/{process_id}/versions/{version}")
def version_page(
    request: Request, process_id: str, version: int, viewer: ViewerDep, services: ServicesDep
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    found, source = services.processes.version(viewer.principal, process.id, version)
    return pages(request).render(request, "version.html", process=process, version=found, source=source)


@router.get("/processes/{process_id}/run")
def run_form(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, stage: Stage | None = None
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    stage = stage or (Stage.PUBLISHED if process.published_version else Stage.DRAFT)
    inputs = services.processes.inputs_of(viewer.principal, process, stage)
    return pages(request).render(request, "run_form.html", process=process, stage=stage, inputs=inputs)


# The path ends in /upload so that the upload bound (not the JSON body bound) applies to it.
@router.post("/processes/{process_id}/upload")
async def start_run(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    form = await request.form(max_files=MAX_UPLOADS, max_fields=200)
    stage = Stage(str(form.get("stage") or "Draft"))
    process = services.processes.get(viewer.principal, process_id)
    name = str(form.get("name") or "").strip()[:100] or f"manual run of {process.name}"[:100]
    inputs = [
        {"name": key.removeprefix("input:"), "value": str(value)}
        for key, value in form.multi_items()
        if key.startswith("input:") and isinstance(value, str) and value != ""
    ]
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    file_ids = []
    for upload in uploads:
        record = services.files.put(
            viewer.principal,
            agent_id=process.agent_id,
            name=upload.filename or "file",
            content_type=upload.content_type or "application/octet-stream",
            data=await upload.read(),
        )
        file_ids.append(record.id)
    request_ = RunRequest(
        agent_id=process.agent_id,
        process_id=process.id,
        stage=stage,
        name=name,
        inputs=inputs,
        file_ids=file_ids,
        trigger=Trigger.MANUAL,
        on_exception="fail" if form.get("fail_fast") else None,
    )
    run = services.runs.start(viewer.principal, request_)
    return RedirectResponse(f"{UI}/runs/{run.id}", status_code=303)


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
