"""A process's e-mail in the UI: its addresses (copy, rotate) and who may send to them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from plainrun.domain.runs import Stage
from plainrun.errors import InvalidInput
from plainrun.http.web import forms
from plainrun.http.web.processes import process_view
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash

router = APIRouter(dependencies=[Depends(check_csrf)])

LIMITS = {"senders": 100_000, "members": 100_000, "mode": 20, "stage": 20}


@router.post("/processes/{process_id}/mail/rotate")
def rotate(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("rotate", data, LIMITS)
    try:
        stage = Stage(form.text("stage"))
    except ValueError:
        process = services.processes.get(viewer.principal, process_id)
        refused = form.refused(InvalidInput("Choose the Draft or the Published address.", [("stage", "")]))
        return process_view(request, services, viewer, process, form=refused)
    address = services.mail.rotate(viewer.principal, process_id, stage)
    flash(request, f"The {stage.value} address is now {address.address}; the old one is refused from now on.")
    return RedirectResponse(f"{UI}/processes/{process_id}#mail-h", status_code=303)


@router.post("/processes/{process_id}/mail/senders")
def senders(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("senders", data, LIMITS)
    try:
        if not form.errors:
            services.mail.set_permissions(
                viewer.principal,
                process_id,
                mode=form.text("mode"),
                senders=forms.lines(form.text("senders")),
            )
    except InvalidInput as exc:
        form = form.refused(exc, fields={"sender": "senders", "mode": "mode"}, default="senders")
    if form.refused_any:
        process = services.processes.get(viewer.principal, process_id)
        return process_view(request, services, viewer, process, form=form)
    flash(request, "Saved who may send e-mail to the process.")
    return RedirectResponse(f"{UI}/processes/{process_id}#mail-h", status_code=303)


@router.post("/processes/{process_id}/mail/members")
def members(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("members", data, LIMITS)
    process = services.processes.get(viewer.principal, process_id)
    try:
        if not form.errors:
            services.mail.set_members(viewer.principal, process.agent_id, forms.lines(form.text("members")))
    except InvalidInput as exc:
        form = form.refused(exc, default="members")
    if form.refused_any:
        return process_view(request, services, viewer, process, form=form)
    flash(request, "Saved the agent's members.")
    return RedirectResponse(f"{UI}/processes/{process_id}#mail-h", status_code=303)
