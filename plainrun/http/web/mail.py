"""A process's e-mail in the UI: its addresses (copy, rotate) and who may send to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from plainrun.domain.runs import Stage
from plainrun.errors import InvalidInput
from plainrun.http.web.processes import process_view
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash

router = APIRouter(dependencies=[Depends(check_csrf)])

Senders = Annotated[str, Form(max_length=100_000)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@router.post("/processes/{process_id}/mail/rotate")
def rotate(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    stage: Annotated[Stage, Form()],
) -> Response:
    address = services.mail.rotate(viewer.principal, process_id, stage)
    flash(request, f"The {stage.value} address is now {address.address}; the old one is refused from now on.")
    return RedirectResponse(f"{UI}/processes/{process_id}#mail-h", status_code=303)


@router.post("/processes/{process_id}/mail/senders")
def senders(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    mode: Annotated[str, Form(max_length=20)],
    senders: Senders = "",
) -> Response:
    try:
        services.mail.set_permissions(viewer.principal, process_id, mode=mode, senders=_lines(senders))
    except InvalidInput as exc:
        process = services.processes.get(viewer.principal, process_id)
        typed = {"mode": mode, "senders": senders, "error": exc.message, "field": "senders"}
        return process_view(request, services, viewer, process, mail_form=typed, status_code=400)
    flash(request, "Saved who may send e-mail to the process.")
    return RedirectResponse(f"{UI}/processes/{process_id}#mail-h", status_code=303)


@router.post("/processes/{process_id}/mail/members")
def members(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, members: Senders = ""
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    try:
        services.mail.set_members(viewer.principal, process.agent_id, _lines(members))
    except InvalidInput as exc:
        typed = {"members": members, "error": exc.message, "field": "members"}
        return process_view(request, services, viewer, process, mail_form=typed, status_code=400)
    flash(request, "Saved the agent's members.")
    return RedirectResponse(f"{UI}/processes/{process_id}#mail-h", status_code=303)
