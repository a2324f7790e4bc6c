"""/v2/health and /v2/agents."""

from __future__ import annotations

from fastapi import APIRouter

from plainrun import __version__
from plainrun.http.api import render
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import AgentList, AgentResource, CreateAgentRequest
from plainrun.http.api.runs import ERRORS

router = APIRouter()


@router.get("/health", operation_id="health", tags=["system"], response_class=render.JSON)
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
