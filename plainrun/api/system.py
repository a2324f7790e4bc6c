"""/v2/health and /v2/agents."""

from __future__ import annotations

from fastapi import APIRouter

from plainrun import __version__
from plainrun.api import render
from plainrun.api.deps import PrincipalDep, ServicesDep
from plainrun.api.models import AgentList, AgentResource, CreateAgentRequest
from plainrun.api.runs import ERRORS
from plainrun.errors import NotFound

router = APIRouter()


@router.get("/health", operation_id="health", tags=["system"], response_class=render.JSON)
def health(services: ServicesDep) -> render.JSON:
    ok = services.store.ping()
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
    agents = [a for a in services.store.list_agents() if principal.can_see(a.id)]
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
    if principal.agent_id is not None:
        # A key scoped to one agent cannot see the installation's agent list, so cannot add to it.
        raise NotFound("The resource was not found.")
    return render.JSON(render.agent(services.store.create_agent(body.name)), status_code=201)
