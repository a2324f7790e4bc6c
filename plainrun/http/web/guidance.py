"""The people's pages: the Guidance Center (every run waiting for a person), a process's remembered
answers, and who its questions are routed to."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from plainrun.errors import InvalidInput
from plainrun.http.web import forms
from plainrun.http.web.forms import REFUSED, Typed
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages

router = APIRouter(dependencies=[Depends(check_csrf)])

#: The questions one page of the Guidance Center shows (those that waited longest).
SHOWN = 100


def center_view(
    request: Request,
    viewer: ViewerDep,
    services: ServicesDep,
    process: str | None,
    assignee: str | None,
    form: Typed | None = None,
) -> Response:
    """The Guidance Center; ``form`` is the answer form of one of its runs, refused, as sent."""
    process_ids = _chosen(services, viewer, process, assignee)
    filters = [(k, v) for k, v in (("process", process), ("assignee", assignee)) if v]
    questions = services.guidance.waiting(viewer.principal, process_ids=process_ids, limit=SHOWN)
    total = services.guidance.count_waiting(viewer.principal, process_ids=process_ids)
    agent_id = viewer.agent_id
    processes = services.processes.page(viewer.principal, agent_id, limit=200).items if agent_id else []
    names = {p.id: p.name for p in processes}
    for q in questions:
        if q.process_id not in names:
            names[q.process_id] = services.processes.get(viewer.principal, q.process_id).name
    return pages(request).render(
        request,
        "guidance.html",
        REFUSED if form is not None else 200,
        form,
        questions=questions,
        total=total,
        names=names,
        processes=sorted(names.items(), key=lambda item: item[1].casefold()),
        users=services.users.all(agent_id) if agent_id else [],
        assignees=services.routing.assignees(viewer.principal),
        lines=services.guidance.source_lines(questions),
        chosen={"process": process or "", "assignee": assignee or ""},
        version=f"{total}.{questions[0].run_id if questions else ''}",
        watch=f"{UI}/guidance/version?{urlencode(filters)}",
    )


@router.get("/guidance")
def guidance_center(
    request: Request,
    viewer: ViewerDep,
    services: ServicesDep,
    process: Annotated[str | None, Query(max_length=64)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    return center_view(request, viewer, services, process, assignee)


def _version(services: ServicesDep, viewer: ViewerDep, process_ids: list[str] | None) -> str:
    """What changes when a run starts or stops waiting: the count and the first waiting run."""
    first = services.guidance.waiting(viewer.principal, process_ids=process_ids, limit=1)
    total = services.guidance.count_waiting(viewer.principal, process_ids=process_ids)
    return f"{total}.{first[0].run_id if first else ''}"


@router.get("/guidance/version")
def guidance_version(
    viewer: ViewerDep,
    services: ServicesDep,
    process: Annotated[str | None, Query(max_length=64)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """A short text that changes when the Guidance Center would: its page polls it and reloads."""
    process_ids = _chosen(services, viewer, process, assignee)
    return Response(
        _version(services, viewer, process_ids),
        media_type="text/plain",
        headers={"cache-control": "no-store"},
    )


def _chosen(
    services: ServicesDep, viewer: ViewerDep, process: str | None, assignee: str | None
) -> list[str] | None:
    """The processes the filters leave (None: every process)."""
    process_ids: list[str] | None = None
    if process:
        process_ids = [services.processes.get(viewer.principal, process).id]
    if assignee:
        routed = services.routing.assigned_to(viewer.principal, assignee)
        process_ids = [p for p in routed if process_ids is None or p in process_ids]
    return process_ids


@router.get("/processes/{process_id}/learnings")
def learnings(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    return pages(request).render(
        request,
        "learnings.html",
        process=process,
        learnings=services.guidance.learnings(viewer.principal, process_id=process.id),
    )


@router.post("/learnings/{learning_id}/forget")
def forget(request: Request, learning_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    learning = services.guidance.forget(viewer.principal, learning_id)
    flash(request, f"Removed: the question on line {learning.line} will be asked of a person again.")
    return RedirectResponse(f"{UI}/processes/{learning.process_id}/learnings", status_code=303)


def _routing_page(
    request: Request, services: ServicesDep, viewer: ViewerDep, process_id: str, form: Typed | None = None
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    return pages(request).render(
        request,
        "routing.html",
        form=form,
        process=process,
        routing=services.routing.get(viewer.principal, process.id),
        users=services.users.all(process.agent_id),
    )


@router.get("/processes/{process_id}/routing")
def routing_page(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    return _routing_page(request, services, viewer, process_id)


@router.post("/processes/{process_id}/routing")
def set_routing(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("routing", data, {"notify": 20_000, "assignees": 100})
    try:
        if not form.errors:
            services.routing.set(
                viewer.principal,
                process_id,
                assignees=form.all("assignees"),
                notify=forms.lines(form.text("notify")),
            )
    except InvalidInput as exc:
        form = form.refused(exc, fields={"assignee": "assignees", "notify": "notify"}, default="notify")
    if form.refused_any:
        return _routing_page(request, services, viewer, process_id, form)
    flash(request, "Saved who answers this process's questions.")
    return RedirectResponse(f"{UI}/processes/{process_id}/routing", status_code=303)
