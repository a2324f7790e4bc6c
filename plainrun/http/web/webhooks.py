"""Pages of webhooks: an agent's subscriptions (made and deleted here too), and one subscription's
deliveries with each of their attempts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from plainrun.domain.webhooks import EVENTS
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages

router = APIRouter(dependencies=[Depends(check_csrf)])


@router.get("/agents/{agent_id}/webhooks")
def subscriptions(
    request: Request,
    agent_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    agent = services.agents.get(viewer.principal, agent_id)
    page = services.webhooks.page(viewer.principal, agent_id, continuation_token=continuation_token)
    return pages(request).render(
        request,
        "webhooks.html",
        agent=agent,
        subscriptions=page.items,
        next_token=page.continuation_token,
        events=EVENTS,
    )


@router.post("/agents/{agent_id}/webhooks")
def create(
    request: Request,
    agent_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    url: Annotated[str, Form(max_length=2000)],
    events: Annotated[list[str] | None, Form()] = None,
    process_id: Annotated[str, Form(max_length=64)] = "",
    description: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    subscription = services.webhooks.create(
        viewer.principal,
        agent_id=agent_id,
        url=url,
        events=events or None,
        process_id=process_id.strip() or None,
        description=description,
    )
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
