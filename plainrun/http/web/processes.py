"""Pages of agents and processes: the list, the process page with its draft editor, publishing,
versions and their comparison, renaming, settings and archiving."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from plainrun.domain.processes import MAX_CONCURRENCY, Process
from plainrun.domain.schedules import Schedule
from plainrun.errors import Conflict, InvalidInput, TooLarge
from plainrun.http.web import forms
from plainrun.http.web.forms import Typed
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages
from plainrun.http.web.text import syntax_errors
from plainrun.services.compiler import MAX_NAME, ProcessSourceInvalid
from plainrun.services.container import Services

router = APIRouter(dependencies=[Depends(check_csrf)])

#: The bounds of the process page's fields (the API's own).
MAX_SOURCE = 1_000_000
MAX_DESCRIPTION = 1000
LIMITS = {"source": MAX_SOURCE, "name": 10 * MAX_NAME, "description": MAX_DESCRIPTION}


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
    form: Typed | None = None,
    errors: list[dict[str, object]] | None = None,
) -> Response:
    agent = services.agents.get(viewer.principal, agent_id)
    page = services.processes.page(
        viewer.principal, agent_id, limit=50, continuation_token=token, archived=archived
    )
    return pages(request).render(
        request,
        "processes.html",
        form=form,
        agent=agent,
        archived=archived,
        processes=page.items,
        next_token=page.continuation_token,
        source=form.text("source") if form is not None else "",
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
    archived: bool = False,
) -> Response:
    return _processes_page(request, services, viewer, agent_id, continuation_token, archived=archived)


def _source(form: Typed) -> Typed:
    """The form with its text as the editor means it (one kind of line end)."""
    if "source" not in form.values:
        return form
    text = form.text("source").replace("\r\n", "\n")
    return Typed(form.form, {**form.values, "source": [text]}, form.errors, form.problem, form.sent)


@router.post("/agents/{agent_id}/processes")
def create_process(
    request: Request, agent_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = _source(forms.typed("new", data, LIMITS))
    if form.errors:
        return _processes_page(request, services, viewer, agent_id, None, form=form)
    try:
        process = services.processes.create(viewer.principal, agent_id=agent_id, source=form.text("source"))
    except ProcessSourceInvalid as exc:
        errors = syntax_errors(exc)
        return _processes_page(request, services, viewer, agent_id, None, form=form, errors=errors)
    except (Conflict, TooLarge, InvalidInput) as exc:
        refused = form.refused(exc, default="source")
        return _processes_page(request, services, viewer, agent_id, None, form=refused)
    flash(request, f"Created the process “{process.name}”.")
    return RedirectResponse(f"{UI}/processes/{process.id}", status_code=303)


def process_view(
    request: Request,
    services: Services,
    viewer: ViewerDep,
    process: Process,
    *,
    form: Typed | None = None,
    errors: list[dict[str, object]] | None = None,
) -> Response:
    """The process page; a refused form of it (``form``) comes back as it was typed, with its
    field's message (``errors``: the draft's syntax errors)."""
    principal = viewer.principal
    draft = services.processes.as_draft(process)
    typed_draft = form is not None and form.form == "draft"
    return pages(request).render(
        request,
        "process.html",
        form=form,
        process=process,
        source=form.text("source") if form is not None and typed_draft else draft.source,
        saved=not typed_draft,
        errors=errors or [],
        error_lines={e["line"]: e["message"] for e in errors or []},
        max_name=MAX_NAME,
        max_concurrency=MAX_CONCURRENCY,
        max_timeout_s=services.processes.max_timeout_s,
        inputs=draft.inputs,
        versions=services.processes.versions(principal, process.id),
        mail=services.mail.settings(principal, process.id),
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
    request: Request, services: Services, viewer: ViewerDep, process: Process, form: Typed
) -> Process | Response:
    """The draft saved with the form's text, or the page again with the text and its errors."""
    if form.errors:
        return process_view(request, services, viewer, process, form=form)
    try:
        return services.processes.update_draft(viewer.principal, process.id, source=form.text("source"))
    except ProcessSourceInvalid as exc:
        return process_view(request, services, viewer, process, form=form, errors=syntax_errors(exc))
    except (Conflict, TooLarge, InvalidInput) as exc:
        return process_view(request, services, viewer, process, form=form.refused(exc, default="source"))


@router.post("/processes/{process_id}/draft")
def save_draft(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    form = _source(forms.typed("draft", data, LIMITS))
    saved = _save(request, services, viewer, process, form)
    if isinstance(saved, Response):
        return saved
    flash(request, f"Saved the draft (revision {saved.draft_revision}).")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


@router.post("/processes/{process_id}/publish")
def publish(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    """Publish the text sent (saved first: what is published is what the editor showed)."""
    process = services.processes.get(viewer.principal, process_id)
    form = _source(forms.typed("draft", data, LIMITS))
    if "source" in form.values:
        saved = _save(request, services, viewer, process, form)
        if isinstance(saved, Response):
            return saved
    try:
        version = services.processes.publish(viewer.principal, process_id)
    except ProcessSourceInvalid as exc:  # nothing sent, and the saved draft does not parse
        return process_view(request, services, viewer, process, errors=syntax_errors(exc))
    if version.created:
        flash(request, f"Published version {version.version}.")
    else:
        flash(request, f"The draft is the same as version {version.version}: no new version was published.")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


@router.post("/processes/{process_id}/name")
def rename(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    form = forms.typed("name", data, LIMITS)
    try:
        if form.errors:
            return process_view(request, services, viewer, process, form=form)
        process = services.processes.update_draft(viewer.principal, process.id, name=form.text("name"))
    except (InvalidInput, Conflict) as exc:
        return process_view(request, services, viewer, process, form=form.refused(exc, default="name"))
    flash(request, f"Renamed the process “{process.name}”.")
    return RedirectResponse(f"{UI}/processes/{process_id}", status_code=303)


def _number(form: Typed, name: str, what: str, *, whole: bool) -> int | float | None:
    """A number field (empty: None); anything else refused with the field's own message."""
    text = form.text(name).strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise InvalidInput(
            f"Give {what} as {kind}, or leave it empty.", details=[(name, text[:30])]
        ) from None


def _settings(form: Typed) -> dict[str, Any]:
    on_exception = form.text("on_exception")
    if on_exception not in ("pause", "fail"):
        raise InvalidInput(
            "Choose to wait for guidance or to fail.", details=[("on_exception", on_exception)]
        )
    return {
        "on_exception": on_exception,
        "timeout_s": _number(form, "timeout_s", "the time limit", whole=False),
        "max_concurrency": _number(form, "max_concurrency", "the number of runs", whole=True),
    }


@router.post("/processes/{process_id}/settings")
def settings(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    form = forms.typed("settings", data, LIMITS)
    try:
        if form.errors:
            return process_view(request, services, viewer, process, form=form)
        process = services.processes.update_draft(
            viewer.principal,
            process.id,
            description=form.text("description").strip(),
            settings=_settings(form),
        )
    except InvalidInput as exc:
        return process_view(request, services, viewer, process, form=form.refused(exc))
    flash(request, f"Saved the settings of “{process.name}”.")
    return RedirectResponse(f"{UI}/processes/{process_id}#settings-h", status_code=303)


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
