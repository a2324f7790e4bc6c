"""/v2/webhooks: subscriptions to run events, and their deliveries with every attempt.

- ``POST /v2/webhooks``: ``agent_id``, ``url``, ``events`` (default: all of ``run.succeeded``,
  ``run.failed``, ``run.waiting_for_guidance``, ``run.cancelled``, ``run.timed_out``), ``process_id``
  (default: every process of the agent), ``description`` (201, with the signing ``secret``, shown
  this once);
- ``GET /v2/webhooks?agent_id[&process_id]``: newest first, in pages (``limit``, ``continuation_token``);
- ``GET /v2/webhooks/{id}``, ``DELETE /v2/webhooks/{id}`` (204: nothing more is sent);
- ``GET /v2/webhooks/{id}/deliveries``: newest first, in pages, each with its attempts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from plainrun.domain.webhooks import MAX_URL, Attempt, Delivery, DeliveryState, Subscription, message_id
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import Body
from plainrun.http.api.runs import ERRORS, check_path_id

router = APIRouter(tags=["webhooks"], route_class=JsonRoute)

Event = Literal["run.succeeded", "run.failed", "run.waiting_for_guidance", "run.cancelled", "run.timed_out"]
IdParam = Annotated[str, Field(min_length=1, max_length=64)]


class CreateWebhookRequest(Body):
    agent_id: IdParam
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL, description="an http:// or https:// URL")]
    events: list[Event] | None = Field(
        default=None, min_length=1, max_length=5, description="the events to send (default: all)"
    )
    process_id: IdParam | None = Field(default=None, description="one process (default: every one)")
    description: Annotated[str, Field(max_length=200)] = ""


class WebhookResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    agent_id: str
    process_id: str | None
    url: str
    events: list[Event]
    description: str
    created_at: str


class CreatedWebhook(WebhookResource):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(description="the whsec_ signing secret, shown only in this answer")


class WebhookList(BaseModel):
    items: list[WebhookResource]
    continuation_token: str | None


class AttemptResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: str
    status_code: int | None = Field(description="the receiver's status; null when it did not answer")
    response: str = Field(description="the start of the receiver's answer (at most 1000 characters)")
    duration_ms: int
    error: str | None


class DeliveryResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    message_id: str = Field(description="the webhook-id header of every try")
    subscription_id: str
    run_id: str
    event: Event
    state: Literal["pending", "delivered", "failed"]
    attempt_count: int
    next_attempt_at: str | None
    last_status: int | None
    created_at: str
    ended_at: str | None
    payload: dict[str, Any]
    attempts: list[AttemptResource]


class DeliveryList(BaseModel):
    items: list[DeliveryResource]
    continuation_token: str | None


def _webhook(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "agent_id": s.agent_id,
        "process_id": s.process_id,
        "url": s.url,
        "events": list(s.events),
        "description": s.description,
        "created_at": render.ts(s.created_at),
    }


def _attempt(a: Attempt) -> dict[str, Any]:
    return {
        "at": render.ts(a.at),
        "status_code": a.status_code,
        "response": a.response,
        "duration_ms": a.duration_ms,
        "error": a.error,
    }


def delivery(d: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
    pending = d.state is DeliveryState.PENDING
    return {
        "id": d.id,
        "message_id": message_id(d.id),
        "subscription_id": d.subscription_id,
        "run_id": d.run_id,
        "event": d.event,
        "state": d.state.value,
        "attempt_count": d.attempts,
        "next_attempt_at": render.ts(d.next_at) if pending else None,
        "last_status": d.last_status,
        "created_at": render.ts(d.created_at),
        "ended_at": render.ts(d.ended_at),
        "payload": orjson.loads(d.body),
        "attempts": [_attempt(a) for a in attempts],
    }


@router.post(
    "/webhooks",
    operation_id="create_webhook",
    summary="Subscribe a URL to run events",
    status_code=201,
    response_model=CreatedWebhook,
    responses=ERRORS,
    response_class=render.JSON,
)
def create_webhook(body: CreateWebhookRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    subscription = services.webhooks.create(
        principal,
        agent_id=body.agent_id,
        url=body.url,
        events=body.events,
        process_id=body.process_id,
        description=body.description,
    )
    return render.JSON({**_webhook(subscription), "secret": subscription.secret}, status_code=201)


@router.get(
    "/webhooks",
    operation_id="list_webhooks",
    summary="An agent's webhook subscriptions, or one process's, newest first",
    response_model=WebhookList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_webhooks(
    services: ServicesDep,
    principal: PrincipalDep,
    agent_id: Annotated[str, Query(max_length=64)],
    process_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> render.JSON:
    page = services.webhooks.page(
        principal, agent_id, process_id=process_id, limit=limit, continuation_token=continuation_token
    )
    return render.JSON(
        {"items": [_webhook(s) for s in page.items], "continuation_token": page.continuation_token}
    )


@router.get(
    "/webhooks/{webhook_id}",
    operation_id="get_webhook",
    summary="A webhook subscription (without its secret)",
    response_model=WebhookResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_webhook(webhook_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON(_webhook(services.webhooks.get(principal, check_path_id(webhook_id, "webhook_id"))))


@router.delete(
    "/webhooks/{webhook_id}",
    operation_id="delete_webhook",
    summary="Delete a webhook subscription and its deliveries (nothing more is sent)",
    status_code=204,
    responses=ERRORS,
)
def delete_webhook(webhook_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    services.webhooks.delete(principal, check_path_id(webhook_id, "webhook_id"))
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    summary="A webhook subscription's deliveries, newest first, each with its attempts",
    response_model=DeliveryList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_webhook_deliveries(
    webhook_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> render.JSON:
    page = services.webhooks.deliveries(
        principal,
        check_path_id(webhook_id, "webhook_id"),
        limit=limit,
        continuation_token=continuation_token,
    )
    return render.JSON(
        {"items": [delivery(d, a) for d, a in page.items], "continuation_token": page.continuation_token}
    )
