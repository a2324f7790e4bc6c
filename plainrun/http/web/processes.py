"""Pages of agents and processes: the list, the process page with its draft editor, publishing,
versions and their comparison, renaming and archiving; the manual run form."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from plainrun.domain.processes import Process
from plainrun.domain.runs import Stage, Trigger
from plainrun.domain.schedules import Schedule
from plainrun.errors import Conflict, InvalidInput
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages
from plainrun.http.web.text import syntax_errors
from plainrun.services.compiler import MAX_NAME, ProcessSourceInvalid
from plainrun.services.container import Services
from plainrun.services.runs import RunRequest

router = APIRouter(dependencies=[Depends(check_csrf)])

MAX_UPLOADS = 20
Source = Annotated[str, Form(max_length=1_000_000)]


def _error(exc: InvalidInput | Conflict) -> str:
    return str(exc.details[0][1]) if isinstance(exc, InvalidInput) and exc.details else exc.message


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
    archived: bool = False,
    source: str = "",
    errors: list[dict[str, object]] | None = None,
    name_error: str = "",
    status_code: int = 200,
) -> Response:
    agent = services.agents.get(viewer.principal, agent_id)
    page = services.processes.page(
        viewer.principal, agent_id, limit=50, continuation_token=token, archived=archived
    )
    return pages(request).render(
        request,
        "processes.html",
        status_code=status_code,
        agent=agent,
        archived=archived,
        processes=page.items,
        next_token=page.continuation_token,
        source=source,
        errors=errors or [],
        error_lines={e["line"]: e["message"] for e in errors or []},
        name_error=name_error,
    )


@router.get("/agents/{agent_id}/processes")
def processes(
    request: Request,
    agent_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
    archived: bool = False,
) -> Response:
    return _processes_page(request, services, viewer, agent_id, continuation_token, archived=archived)


@router.post("/agents/{agent_id}/processes")
def create_process(
    request: Request, agent_id: str, viewer: ViewerDep, services: ServicesDep, source: Source
) -> Response:
    source = source.replace("\r\n", "\n")
    try:
        process = services.processes.create(viewer.principal, agent_id=agent_id, source=source)
    except ProcessSourceInvalid as exc:
        errors = syntax_errors(exc)
        return _processes_page(
            request, services, viewer, agent_id, None, source=source, errors=errors, status_code=400
        )
    except Conflict as exc:
        return _processes_page(
            request, services, viewer, agent_id, None, source=source, name_error=exc.message, status_code=409
        )
    flash(request, f"Created the process “{process.name}”.")
    return RedirectResponse(f"{UI}/processes/{process.id}", status_code=303)


def process_view(
    request: Request,
    services: Services,
    viewer: ViewerDep,
    process: Process,
    *,
    source: str | None = None,
    errors: list[dict[str, object]] | None = None,
    problem: str = "",
    name: str | None = None,
    name_error: str = "",
    mail_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The process page; a refused form of it comes back as it was typed, with its field's error."""
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
        problem=problem,
        error_lines={e["line"]: e["message"] for e in errors or []},
        name_value=process.name if name is None else name,
        name_error=name_error,
        max_name=MAX_NAME,
        inputs=draft.inputs,
        versions=services.processes.versions(principal, process.id),
        mail=services.mail.settings(principal, process.id),
        mail_form=mail_form or {},
        schedules=[
            {"schedule": sc, "summary": services.schedules.summary(sc), "next": _next_local(sc)}
            for sc in services.schedules.of_agent(principal, agent_id=process.agent_id, process_id=process.id)
        ],
    )


def _next_local(schedule: Schedule) -> str:
    """A schedule's next slot in its own zone."""
    if schedule.next_at is None:
        return ""
    local = schedule.next_at.astimezone(ZoneInfo(schedule.timezone))
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"


@router.get("/processes/{process_id}")
def process_page(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    return process_view(request, services, viewer, process)


def _save(
    request: Request, services: Services, viewer: ViewerDep, process: Process, source: str
) -> Process | Response:
    """The draft saved with ``source``, or the page again with the text and its errors."""
    try:
        return services.processes.update_draft(viewer.principal, process.id, source=source)
    except ProcessSourceInvalid as exc:
        errors = syntax_errors(exc)
        return process_view(request, services, viewer, process, source=source, errors=errors, status_code=400)
    except Conflict as exc:
        return process_view(
            request, services, viewer, process, source=source, problem=exc.message, status_code=409
        )


@router.post("/processes/{process_id}/draft")
def save_draft(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, source: Source
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    saved = _save(request, services, viewer, process, source.replace("\r\n", "\n"))
    if isinstance(saved, Response):
        return saved
    flash(request, f"Saved the draft (revision {saved.draft_revision}).")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


@router.post("/processes/{process_id}/publish")
def publish(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    source: Annotated[str | None, Form(max_length=1_000_000)] = None,
) -> Response:
    """Publish the text sent (saved first: what is published is what the editor showed)."""
    process = services.processes.get(viewer.principal, process_id)
    if source is not None:
        saved = _save(request, services, viewer, process, source.replace("\r\n", "\n"))
        if isinstance(saved, Response):
            return saved
    version = services.processes.publish(viewer.principal, process_id)
    if version.created:
        flash(request, f"Published version {version.version}.")
    else:
        flash(request, f"The draft is the same as version {version.version}: no new version was published.")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


@router.post("/processes/{process_id}/name")
def rename(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    name: Annotated[str, Form(max_length=10_000)],
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    try:
        process = services.processes.update_draft(viewer.principal, process.id, name=name)
    except (InvalidInput, Conflict) as exc:
        return process_view(
            request, services, viewer, process, name=name, name_error=_error(exc), status_code=exc.status_code
        )
    flash(request, f"Renamed the process “{process.name}”.")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


@router.post("/processes/{process_id}/archive")
def archive(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    archived: Annotated[bool, Form()] = True,
) -> Response:
    process = services.processes.update_draft(viewer.principal, process_id, archived=archived)
    if archived:
        flash(request, f"Archived “{process.name}”: it is out of the list of processes; its runs are kept.")
    else:
        flash(request, f"“{process.name}” is back in the list of processes.")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


def _stage_version(value: str | None) -> int | None:
    """A version number from a form (``draft`` or nothing: the draft)."""
    if value in (None, "", "draft"):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput("Choose a version number or the draft.", details=[("version", value)]) from None


@router.get("/processes/{process_id}/compare")
def compare(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    old: Annotated[str | None, Query(max_length=12)] = None,
    new: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    versions = services.processes.versions(viewer.principal, process.id)
    old_v = _stage_version(old) if old else (versions[0].version if versions else None)
    new_v = _stage_version(new)
    lines = services.processes.compare(viewer.principal, process.id, old_v, new_v)
    return pages(request).render(
        request,
        "compare.html",
        process=process,
        versions=versions,
        old=old_v,
        new=new_v,
        lines=lines,
        changed=any(line.kind != "same" for line in lines),
    )


@router.post("/processes/{process_id}/restore")
def restore(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    version: Annotated[int, Form(ge=1)],
) -> Response:
    process = services.processes.restore(viewer.principal, process_id, version)
    flash(request, f"Restored version {version} into the draft (revision {process.draft_revision}).")
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
    stages = [Stage.DRAFT, Stage.PUBLISHED] if process.published_version else [Stage.DRAFT]
    problems: dict[str, str] = {}
    inputs: dict[str, list[str]] = {}
    for each in stages:
        try:
            inputs[each.value] = services.processes.inputs_of(viewer.principal, process, each)
        except InvalidInput as exc:
            inputs[each.value] = []
            problems[each.value] = exc.message
    return pages(request).render(
        request, "run_form.html", process=process, stage=stage, inputs=inputs, problems=problems
    )


# The path ends in /upload so that the upload bound (not the JSON body bound) applies to it.
@router.post("/processes/{process_id}/upload")
async def start_run(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    form = await request.form(max_files=MAX_UPLOADS, max_fields=200)
    try:
        stage = Stage(str(form.get("stage") or "Draft"))
    except ValueError:
        raise InvalidInput(
            "Choose the Draft or the Published stage.", details=[("stage", "unknown")]
        ) from None
    process = services.processes.get(viewer.principal, process_id)
    name = str(form.get("name") or "").strip()[:100] or f"manual run of {process.name}"[:100]
    # Each stage's inputs are fields of their own (input:<stage>:<name>): only the chosen stage's count.
    prefix = f"input:{stage.value}:"
    inputs = [
        {"name": key.removeprefix(prefix), "value": str(value)}
        for key, value in form.multi_items()
        if key.startswith(prefix) and isinstance(value, str) and value != ""
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
