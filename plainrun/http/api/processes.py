"""/v2/processes: list and read processes; create, edit the draft, publish, list versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from plainrun.domain.processes import MAX_VERSION
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import (
    CreateProcessRequest,
    ErrorModel,
    ProcessList,
    ProcessResource,
    UpdateProcessRequest,
    VersionList,
    VersionResource,
)
from plainrun.http.api.runs import ERRORS, check_path_id
from plainrun.services.processes import Draft

router = APIRouter(tags=["processes"], route_class=JsonRoute)

#: A name is unique per agent: a second process of the same name is a conflict.
NAMED = {**ERRORS, 409: {"model": ErrorModel, "description": "Another process of the agent has this name"}}


def _full(draft: Draft) -> render.JSON:
    return render.JSON(render.process(draft.process, source=draft.source, inputs=draft.inputs))


@router.get(
    "/processes",
    operation_id="list_processes",
    response_model=ProcessList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_processes(
    services: ServicesDep,
    principal: PrincipalDep,
    agent_id: Annotated[str, Query(max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
    archived: Annotated[bool, Query(description="true lists only archived processes")] = False,
) -> render.JSON:
    page = services.processes.page(
        principal, agent_id, limit=limit, continuation_token=continuation_token, archived=archived
    )
    return render.JSON(
        {"items": [render.process(p) for p in page.items], "continuation_token": page.continuation_token}
    )


@router.post(
    "/processes",
    operation_id="create_process",
    status_code=201,
    response_model=ProcessResource,
    responses=NAMED,
    response_class=render.JSON,
)
def create_process(body: CreateProcessRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    process = services.processes.create(
        principal,
        agent_id=body.agent_id,
        source=body.source,
        name=body.name,
        description=body.description,
        settings=body.settings,
    )
    response = _full(services.processes.as_draft(process))
    response.status_code = 201
    return response


@router.get(
    "/processes/{process_id}",
    operation_id="get_process",
    response_model=ProcessResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_process(
    process_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
) -> render.JSON:
    return _full(services.processes.draft(principal, check_path_id(process_id, "process_id"), agent_id))


@router.patch(
    "/processes/{process_id}",
    operation_id="update_process",
    summary="Edit the draft (source, name, description, settings), or archive the process",
    description="A new source whose first line renames the process renames it too, unless the process "
    "has a name of its own. `archived` true takes the process out of the list; its runs are kept.",
    response_model=ProcessResource,
    responses=NAMED,
    response_class=render.JSON,
)
def update_process(
    process_id: str, body: UpdateProcessRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    process = services.processes.update_draft(
        principal,
        check_path_id(process_id, "process_id"),
        source=body.source,
        name=body.name,
        description=body.description,
        settings=body.settings,
        archived=body.archived,
    )
    return _full(services.processes.as_draft(process))


@router.post(
    "/processes/{process_id}/publish",
    operation_id="publish_process",
    summary="Publish the draft as the next version",
    description="201 with the new version; 200 with the latest version, `created` false, when the "
    "draft equals it (no version is made).",
    response_model=VersionResource,
    status_code=201,
    responses={
        **ERRORS,
        200: {"model": VersionResource, "description": "The draft equals the latest version"},
    },
    response_class=render.JSON,
)
def publish_process(process_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    version = services.processes.publish(principal, check_path_id(process_id, "process_id"))
    return render.JSON(
        render.version(version, created=version.created), status_code=201 if version.created else 200
    )


@router.get(
    "/processes/{process_id}/versions",
    operation_id="list_process_versions",
    response_model=VersionList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_versions(process_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    versions = services.processes.versions(principal, check_path_id(process_id, "process_id"))
    return render.JSON({"items": [render.version(v) for v in versions], "continuation_token": None})


@router.get(
    "/processes/{process_id}/versions/{version}",
    operation_id="get_process_version",
    response_model=VersionResource,
    responses={**ERRORS, 404: {"model": ErrorModel, "description": "No such version"}},
    response_class=render.JSON,
)
def get_version(
    process_id: str,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION, description="A version number, from 1")],
    services: ServicesDep,
    principal: PrincipalDep,
) -> render.JSON:
    found, source = services.processes.version(principal, check_path_id(process_id, "process_id"), version)
    return render.JSON(render.version(found, source=source))
