"""/v2/health and /v2/agents; ``/livez`` and ``/readyz`` for load balancers and orchestrators."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from plainrun import __version__
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import AgentList, AgentResource, CreateAgentRequest, ErrorModel, Health
from plainrun.http.api.runs import ERRORS

router = APIRouter(route_class=JsonRoute)
#: Mounted at the root, outside /v2: what a load balancer or an orchestrator asks.
probes = APIRouter(tags=["system"], route_class=JsonRoute)


class Live(BaseModel):
    status: Literal["live"]
    version: str


class Ready(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]


@probes.get("/livez", operation_id="live", response_model=Live, response_class=render.JSON)
async def live() -> render.JSON:
    """The process answers (nothing else is checked: a live host may still be unready)."""
    return render.JSON({"status": "live", "version": __version__})


@probes.get(
    "/readyz",
    operation_id="ready",
    response_model=Ready,
    response_class=render.JSON,
    responses={503: {"model": ErrorModel}},
)
def ready(services: ServicesDep) -> render.JSON:
    """Ready to serve: the database answers at the newest schema, file contents can be reached,
    this host's settings agree with the installation's. Otherwise 503, each failing check named."""
    found = services.installation.readiness()
    if found.ready:
        return render.JSON({"status": "ready", "checks": found.checks})
    details = [{"name": name, "value": value} for name, value in found.checks.items() if value != "ok"]
    return render.JSON(
        {"status_code": 503, "message": "This host is not ready.", "details": details}, status_code=503
    )


@router.get(
    "/health",
    operation_id="health",
    tags=["system"],
    response_model=Health,
    responses={503: {"model": Health, "description": "The database does not answer"}},
    response_class=render.JSON,
)
def health(services: ServicesDep) -> render.JSON:
    ok = services.healthy()
    return render.JSON(
        {
            "status": "ok" if ok else "degraded",
            "database": "ok" if ok else "unavailable",
            "version": __version__,
        },
        status_code=200 if ok else 503,
    )


@router.get(
    "/agents",
    operation_id="list_agents",
    tags=["agents"],
    response_model=AgentList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_agents(services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    agents = services.agents.visible(principal)
    return render.JSON({"items": [render.agent(a) for a in agents], "continuation_token": None})


@router.post(
    "/agents",
    operation_id="create_agent",
    tags=["agents"],
    response_model=AgentResource,
    status_code=201,
    responses=ERRORS,
    response_class=render.JSON,
)
def create_agent(body: CreateAgentRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON(render.agent(services.agents.create(principal, body.name)), status_code=201)
