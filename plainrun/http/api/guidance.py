"""Guidance: answer a waiting run (/v2/runs/{id}/guidance); remembered answers (/v2/learnings)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from starlette.responses import Response

from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import Body, ErrorModel, RunResource
from plainrun.http.api.runs import ERRORS, check_path_id

router = APIRouter(tags=["guidance"], route_class=JsonRoute)


class GuidanceRequest(Body):
    action: Literal["value", "retry", "skip", "stop"] = Field(
        description="give a value, retry the step, skip it, or stop the run (it fails)"
    )
    value: Annotated[StrictStr, Field(max_length=100_000)] | StrictInt | StrictFloat | None = Field(
        default=None,
        description="the answer, for the action value; one of the question's choices if it has any",
    )
    remember: bool = Field(
        default=False,
        description="answer the same question on the same process line like this in later runs",
    )


class LearningResource(BaseModel):
    """A remembered answer: the question on a process line, and what to do when it is asked again."""

    model_config = ConfigDict(extra="forbid")

    id: str
    agent_id: str
    process_id: str
    line: int
    question: str
    action: str
    value: str | int | float | None
    created_at: str


class LearningList(BaseModel):
    items: list[LearningResource]
    continuation_token: None = None


@router.post(
    "/runs/{run_id}/guidance",
    operation_id="answer_run",
    summary="Answer the question a run waits on",
    response_model=RunResource,
    responses={**ERRORS, 409: {"model": ErrorModel, "description": "The run is not waiting for guidance"}},
    response_class=render.JSON,
)
def answer_run(
    run_id: str, body: GuidanceRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    run = services.guidance.answer(
        principal,
        check_path_id(run_id, "run_id"),
        action=body.action,
        value=body.value,
        remember=body.remember,
    )
    return render.JSON(render.run(run))


@router.get(
    "/learnings",
    operation_id="list_learnings",
    summary="A process's remembered answers",
    response_model=LearningList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_learnings(
    services: ServicesDep,
    principal: PrincipalDep,
    process_id: Annotated[str, Query(max_length=64)],
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
) -> render.JSON:
    items = services.guidance.learnings(principal, process_id=process_id, agent_id=agent_id)
    return render.JSON({"items": [render.learning(i) for i in items], "continuation_token": None})


@router.delete(
    "/learnings/{learning_id}",
    operation_id="delete_learning",
    summary="Forget a remembered answer",
    status_code=204,
    responses=ERRORS,
    response_class=Response,
)
def delete_learning(learning_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    services.guidance.forget(principal, check_path_id(learning_id, "learning_id"))
    return Response(status_code=204)
