"""/v2/runs: the REST API v2 runs endpoints, plus cancel, events and bulk archive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from plainrun.domain.ids import SPEC_ID_PATTERN
from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.errors import NotFound
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import (
    BulkResult,
    BulkRunsRequest,
    CreateRunRequest,
    ErrorModel,
    ProcessStage,
    RunEventList,
    RunList,
    RunResource,
)
from plainrun.services.runs import RunFilter, RunRequest

router = APIRouter(tags=["runs"], route_class=JsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorModel, "description": "Invalid input values"},
    401: {"model": ErrorModel, "description": "A valid API key is required"},
    404: {"model": ErrorModel, "description": "The resource was not found"},
}


KEY_REUSED: dict[str, Any] = {
    "model": ErrorModel,
    "description": "The Idempotency-Key was used with another request",
}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retry safely: the same key and request within 24 hours return the first answer.",
    ),
]


def check_path_id(value: str, what: str) -> str:
    """An id in a path that cannot be one of ours names nothing: 404, saying what an id looks like."""
    if len(value) > 26 or not SPEC_ID_PATTERN.match(value):
        raise NotFound(
            f"The {what.removesuffix('_id')} was not found: ids are 25 lowercase letters and digits.",
            details=[(what, value[:100])],
        )
    return value


@router.get(
    "/runs",
    operation_id="list_runs",
    summary="List Runs",
    response_model=RunList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_runs(
    services: ServicesDep,
    principal: PrincipalDep,
    agent_id: Annotated[str, Query(max_length=64)],
    process_id: Annotated[
        str | None,
        Query(max_length=64, description="only this process's runs (without: every run of the agent)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    stage: ProcessStage | None = None,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
    archived: Annotated[bool, Query(description="true lists only archived runs")] = False,
    state: Annotated[list[RunState] | None, Query(description="only runs in these states")] = None,
    trigger: Annotated[list[Trigger] | None, Query(description="only runs started so")] = None,
    name: Annotated[
        str | None, Query(max_length=100, description="only runs whose name has this in it")
    ] = None,
    created_after: Annotated[
        datetime | None, Query(description="only runs made at or after this time")
    ] = None,
    created_before: Annotated[datetime | None, Query(description="only runs made before this time")] = None,
    include_tests: Annotated[bool, Query(description="false leaves out the Test Suite's runs")] = True,
) -> render.JSON:
    where = RunFilter(
        stage=Stage(stage) if stage else None,
        archived=archived,
        states=state or (),
        triggers=trigger or (),
        name=name or None,
        since=_aware(created_after),
        until=_aware(created_before),
        tests=include_tests,
    )
    page = services.runs.page(
        principal,
        agent_id=agent_id,
        process_id=process_id,
        where=where,
        limit=limit,
        continuation_token=continuation_token,
    )
    return render.JSON(
        {"items": [render.run(r) for r in page.items], "continuation_token": page.continuation_token}
    )


def _aware(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.post(
    "/runs",
    operation_id="create_run",
    summary="Start a Run",
    status_code=201,
    response_model=RunResource,
    responses={
        200: {"model": RunResource, "description": "A retry with the same Idempotency-Key: the first run"},
        **ERRORS,
        422: KEY_REUSED,
    },
    response_class=render.JSON,
)
def create_run(
    body: CreateRunRequest,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> render.JSON:
    if idempotency_key is None:
        return render.JSON(render.run(services.runs.start(principal, run_request(body))), status_code=201)
    run, first = services.runs.start_once(principal, run_request(body), idempotency_key)
    return render.JSON(render.run(run), status_code=201 if first else 200)


def run_request(body: CreateRunRequest) -> RunRequest:
    """The run POST /v2/runs asks for (also parsed so by the fast path, ``plainrun.http.speed``)."""
    inputs = (
        body.inputs
        if body.inputs is None or isinstance(body.inputs, dict)
        else [{"name": i.name, "value": i.value} for i in body.inputs]
    )
    return RunRequest(
        agent_id=body.agent_id,
        process_id=body.process_id,
        stage=Stage(body.stage),
        name=body.name,
        inputs=inputs,
        file_ids=body.file_ids,
        trigger=Trigger.API,
    )


@router.get(
    "/runs/{run_id}",
    operation_id="get_run",
    summary="Get Run",
    response_model=RunResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_run(run_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON(render.run(services.runs.get(principal, check_path_id(run_id, "run_id"))))


@router.post(
    "/runs/{run_id}/cancel",
    operation_id="cancel_run",
    summary="Cancel a Run",
    response_model=RunResource,
    responses={**ERRORS, 409: {"model": ErrorModel, "description": "The run has already ended"}},
    response_class=render.JSON,
)
def cancel_run(run_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return render.JSON(render.run(services.runs.cancel(principal, check_path_id(run_id, "run_id"))))


@router.get(
    "/runs/{run_id}/events",
    operation_id="list_run_events",
    summary="A run's timeline of state changes",
    response_model=RunEventList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_run_events(run_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    events = services.runs.events(principal, check_path_id(run_id, "run_id"))
    return render.JSON({"items": [render.event(e) for e in events], "continuation_token": None})


@router.get(
    "/runs/{run_id}/children",
    operation_id="list_child_runs",
    summary="The child runs a run started (run, invoke, start a run), oldest first",
    response_model=RunList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_child_runs(run_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    children = services.runs.children(principal, check_path_id(run_id, "run_id"))
    return render.JSON({"items": [render.run(r) for r in children], "continuation_token": None})


def _bulk(services: ServicesDep, principal: PrincipalDep, run_ids: list[str], archived: bool) -> render.JSON:
    outcome = services.runs.set_archived(principal, run_ids, archived)
    return render.JSON({"results": [{"run_id": rid, "result": result} for rid, result in outcome.items()]})


@router.post(
    "/runs/archive",
    operation_id="archive_runs",
    summary="Archive runs (execution goes on)",
    response_model=BulkResult,
    responses=ERRORS,
    response_class=render.JSON,
)
def archive_runs(body: BulkRunsRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return _bulk(services, principal, body.run_ids, True)


@router.post(
    "/runs/unarchive",
    operation_id="unarchive_runs",
    summary="Unarchive runs",
    response_model=BulkResult,
    responses=ERRORS,
    response_class=render.JSON,
)
def unarchive_runs(body: BulkRunsRequest, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    return _bulk(services, principal, body.run_ids, False)
