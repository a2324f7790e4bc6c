"""Pages of webhooks: an agent's subscriptions (made and deleted here too), and one subscription's
deliveries with each of their attempts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from plainrun.domain.webhooks import EVENTS
from plainrun.errors import InvalidInput, NotFound
from plainrun.http.web import forms
from plainrun.http.web.forms import Typed
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages

router = APIRouter(dependencies=[Depends(check_csrf)])

LIMITS = {"url": 2000, "process_id": 64, "description": 200, "events": 100}


def _subscriptions_page(
    request: Request,
    services: ServicesDep,
    viewer: ViewerDep,
    agent_id: str,
    continuation_token: str | None = None,
    form: Typed | None = None,
) -> Response:
    agent = services.agents.get(viewer.principal, agent_id)
    page = services.webhooks.page(viewer.principal, agent_id, continuation_token=continuation_token)
    return pages(request).render(
        request,
        "webhooks.html",
        form=form,
        agent=agent,
        subscriptions=page.items,
        next_token=page.continuation_token,
        events=EVENTS,
    )


@router.get("/agents/{agent_id}/webhooks")
def subscriptions(
    request: Request,
    agent_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    return _subscriptions_page(request, services, viewer, agent_id, continuation_token)


def _process(services: ServicesDep, viewer: ViewerDep, agent_id: str, process_id: str) -> str | None:
    """The id of the agent's process named in the form (empty: every process)."""
    if not process_id:
        return None
    try:
        return services.processes.get(viewer.principal, process_id, agent_id).id
    except NotFound:
        raise InvalidInput(
            "The agent has no process with this id.", details=[("process_id", process_id[:64])]
        ) from None


@router.post("/agents/{agent_id}/webhooks")
def create(
    request: Request, agent_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    form = forms.typed("webhook", data, LIMITS)
    try:
        if form.errors:
            return _subscriptions_page(request, services, viewer, agent_id, form=form)
        subscription = services.webhooks.create(
            viewer.principal,
            agent_id=agent_id,
            url=form.text("url"),
            events=form.all("events") or None,
            process_id=_process(services, viewer, agent_id, form.text("process_id").strip()),
            description=form.text("description"),
        )
    except InvalidInput as exc:
        refused = form.refused(exc, fields={"events": "events"}, default="description")
        return _subscriptions_page(request, services, viewer, agent_id, form=refused)
    flash(
        request, f"Subscribed {subscription.url}. Its signing secret, shown only now: {subscription.secret}"
    )
    return RedirectResponse(f"{UI}/webhooks/{subscription.id}", status_code=303)


@router.get("/webhooks/{subscription_id}")
def deliveries(
    request: Request,
    subscription_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    subscription = services.webhooks.get(viewer.principal, subscription_id)
    page = services.webhooks.deliveries(
        viewer.principal, subscription_id, limit=50, continuation_token=continuation_token
    )
    return pages(request).render(
        request,
        "webhook.html",
        subscription=subscription,
        deliveries=page.items,
        next_token=page.continuation_token,
    )


@router.post("/webhooks/{subscription_id}/delete")
def delete(request: Request, subscription_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    subscription = services.webhooks.get(viewer.principal, subscription_id)
    services.webhooks.delete(viewer.principal, subscription_id)
    flash(request, f"Deleted the subscription of {subscription.url}.")
    return RedirectResponse(f"{UI}/agents/{subscription.agent_id}/webhooks", status_code=303)
