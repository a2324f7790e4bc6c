"""Pages of agents and processes: the list, the process page with its draft editor, publishing,
versions, e-mail addresses, schedules and inputs; the manual run form; the Test Suite."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, NotFound
from plainrun.services.compiler import ProcessSourceInvalid
from plainrun.services.container import Services
from plainrun.store.records import Process
from plainrun.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.web.templating import UI, flash, pages

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
    visible = [a for a in services.store.list_agents() if viewer.principal.can_see(a.id)]
    return pages(request).render(request, "agents.html", agents=visible)


def _processes_page(
    request: Request,
    services: Services,
    viewer: ViewerDep,
    agent_id: str,
    after: str | None,
    *,
    source: str = "",
    errors: list[dict[str, object]] | None = None,
    status_code: int = 200,
) -> Response:
    agent = services.processes.agent(viewer.principal, agent_id)
    rows = services.processes.list(viewer.principal, agent_id, after_id=after, limit=51)
    return pages(request).render(
        request,
        "processes.html",
        status_code=status_code,
        agent=agent,
        processes=rows[:50],
        next_after=rows[49].id if len(rows) > 50 else None,
        source=source,
        errors=errors or [],
        error_lines={e["line"]: e["message"] for e in errors or []},
    )


@router.get("/agents/{agent_id}/processes")
def processes(
    request: Request, agent_id: str, viewer: ViewerDep, services: ServicesDep, after: str | None = None
) -> Response:
    return _processes_page(request, services, viewer, agent_id, after)


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
    draft = services.store.get_source(process.draft_sha256)
    inputs = services.processes.inspect_stored(process.draft_sha256).inputs
    return pages(request).render(
        request,
        "process.html",
        status_code=status_code,
        process=process,
        source=draft if source is None else source,
        saved=source is None,
        errors=errors or [],
        error_lines={e["line"]: e["message"] for e in errors or []},
        inputs=inputs,
        versions=services.processes.versions(principal, process.id)[::-1],
        mail=services.mail.settings(principal, process.id),
        schedules=services.schedules.list(principal, agent_id=process.agent_id, process_id=process.id),
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
    found = services.processes.version(viewer.principal, process.id, version)
    return pages(request).render(
        request,
        "version.html",
        process=process,
        version=found,
        source=services.store.get_source(found.sha256),
    )


def _stage_inputs(services: Services, viewer: ViewerDep, process: Process, stage: Stage) -> list[str]:
    if stage is Stage.DRAFT:
        return services.processes.inspect_stored(process.draft_sha256).inputs
    if process.published_version is None:
        raise InvalidInput("The process has no published version; publish it or run the Draft stage.")
    found = services.processes.version(viewer.principal, process.id, process.published_version)
    return services.processes.inspect_stored(found.sha256).inputs


@router.get("/processes/{process_id}/run")
def run_form(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, stage: Stage | None = None
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    stage = stage or (Stage.PUBLISHED if process.published_version else Stage.DRAFT)
    inputs = _stage_inputs(services, viewer, process, stage)
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
    run = services.runs.start(
        viewer.principal,
        agent_id=process.agent_id,
        process_id=process.id,
        stage=stage,
        name=name,
        inputs=inputs,
        file_ids=file_ids,
        trigger=Trigger.MANUAL,
        on_exception="fail" if form.get("fail_fast") else None,
    )
    return RedirectResponse(f"{UI}/runs/{run.id}", status_code=303)


@router.get("/processes/{process_id}/tests")
def tests_page(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    cases = services.tests.cases(viewer.principal, agent_id=process.agent_id, process_id=process.id)
    history = [
        r for r in services.tests.history(viewer.principal, process.agent_id) if process.id in r.process_ids
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
