"""/v2/schedules: a published process run by itself on a preset or a cron expression in a time zone.

- ``POST /v2/schedules``: ``agent_id``, ``process_id``, ``name``, ``kind`` (``hourly`` with
  ``minute``, ``daily`` with ``at`` HH:MM, ``weekly`` with ``day`` and ``at``, ``every`` with
  ``every_minutes``, ``cron`` with ``cron``), ``timezone`` (IANA), ``inputs``, ``catch_up``
  (``{"policy": "skip"|"latest"|"all_within", "window_s"}``), ``enabled`` (201);
- ``GET /v2/schedules?agent_id[&process_id]``: newest first (at most 100);
- ``GET /v2/schedules/{id}``, ``PATCH /v2/schedules/{id}``, ``DELETE /v2/schedules/{id}`` (204).

Every schedule is shown with ``next_fire_times``: its next five slots, in UTC.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from plainrun.domain.schedules import MAX_EVERY_MINUTES, MAX_WINDOW_S
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import Body, RunInput, Value
from plainrun.http.api.runs import ERRORS, check_path_id

router = APIRouter(tags=["schedules"], route_class=JsonRoute)

Kind = Literal["hourly", "daily", "weekly", "every", "cron"]
Inputs = list[RunInput] | dict[Annotated[str, Field(min_length=1, max_length=100)], Value]


class CatchUp(Body):
    policy: Literal["skip", "latest", "all_within"] = Field(
        default="skip",
        description="slots missed while every scheduler was down: skip them, run the latest once, "
        "or run each one at most window_s old",
    )
    window_s: int | None = Field(
        default=None, ge=60, le=MAX_WINDOW_S, description="for all_within (default 86400)"
    )


class _Timing(Body):
    at: str | None = Field(default=None, max_length=5, description="daily, weekly: local time HH:MM")
    day: str | None = Field(default=None, max_length=9, description="weekly: monday to sunday")
    minute: int | None = Field(default=None, ge=0, le=59, description="hourly: the minute (default 0)")
    every_minutes: int | None = Field(default=None, ge=1, le=MAX_EVERY_MINUTES, description="every")
    cron: str | None = Field(
        default=None, max_length=200, description="cron: five fields, or six (the sixth is seconds)"
    )


class CreateScheduleRequest(_Timing):
    agent_id: Annotated[str, Field(max_length=64)]
    process_id: Annotated[str, Field(max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Kind
    timezone: str = Field(default="UTC", max_length=64, description="an IANA time zone name")
    inputs: Inputs | None = Field(
        default=None, description="inputs of each run: [{name, value}] or an object"
    )
    catch_up: CatchUp = Field(default_factory=CatchUp)
    enabled: bool = True


class UpdateScheduleRequest(_Timing):
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    kind: Kind | None = None
    timezone: str | None = Field(default=None, max_length=64)
    inputs: Inputs | None = None
    catch_up: CatchUp | None = None
    enabled: bool | None = None


class CatchUpResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Literal["skip", "latest", "all_within"]
    window_s: int | None


class ScheduleResource(BaseModel):
    """A schedule, its timing's own fields (``at``, ``day``, ``minute``, ``every_minutes`` or
    ``cron``, by its kind), and its next five slots in UTC."""

    model_config = ConfigDict(extra="forbid")

    id: str
    agent_id: str
    process_id: str
    name: str
    kind: Kind
    at: str | None = None
    day: str | None = None
    minute: int | None = None
    every_minutes: int | None = None
    cron: str | None = None
    timezone: str
    inputs: list[dict[str, Any]] | dict[str, Any] | None
    catch_up: CatchUpResource
    enabled: bool
    next_fire_times: list[str]
    created_at: str
    updated_at: str


class ScheduleList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ScheduleResource]


def _inputs(inputs: Inputs | None) -> Any:
    if inputs is None or isinstance(inputs, dict):
        return inputs
    return [{"name": i.name, "value": i.value} for i in inputs]


@router.post(
    "/schedules",
    operation_id="create_schedule",
    summary="Schedule a published process",
    response_model=ScheduleResource,
    status_code=201,
    responses=ERRORS,
    response_class=render.JSON,
)
def create_schedule(
    body: CreateScheduleRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    schedule = services.schedules.create(
        principal,
        agent_id=body.agent_id,
        process_id=body.process_id,
        name=body.name,
        kind=body.kind,
        timezone=body.timezone,
        at=body.at,
        day=body.day,
        minute=body.minute,
        every_minutes=body.every_minutes,
        cron=body.cron,
        inputs=_inputs(body.inputs),
        catch_up=body.catch_up.policy,
        catch_up_window_s=body.catch_up.window_s,
        enabled=body.enabled,
    )
    return render.JSON(
        render.schedule(schedule, services.schedules.next_fire_times(schedule)), status_code=201
    )


@router.get(
    "/schedules",
    operation_id="list_schedules",
    summary="An agent's schedules, or one process's, newest first",
    response_model=ScheduleList,
    responses=ERRORS,
    response_class=render.JSON,
)
def list_schedules(
    services: ServicesDep,
    principal: PrincipalDep,
    agent_id: Annotated[str, Query(max_length=64)],
    process_id: Annotated[str | None, Query(max_length=64)] = None,
) -> render.JSON:
    items = services.schedules.of_agent(principal, agent_id=agent_id, process_id=process_id)
    return render.JSON({"items": [render.schedule(s, services.schedules.next_fire_times(s)) for s in items]})


@router.get(
    "/schedules/{schedule_id}",
    operation_id="get_schedule",
    summary="A schedule, with its next fire times",
    response_model=ScheduleResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_schedule(schedule_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    schedule = services.schedules.get(principal, check_path_id(schedule_id, "schedule_id"))
    return render.JSON(render.schedule(schedule, services.schedules.next_fire_times(schedule)))


@router.patch(
    "/schedules/{schedule_id}",
    operation_id="update_schedule",
    summary="Change, enable or disable a schedule",
    response_model=ScheduleResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def update_schedule(
    schedule_id: str, body: UpdateScheduleRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    changes = body.model_dump(exclude_unset=True, exclude={"catch_up", "inputs"})
    if body.catch_up is not None:
        changes.update(catch_up=body.catch_up.policy, catch_up_window_s=body.catch_up.window_s)
    if body.inputs is not None:
        changes["inputs"] = _inputs(body.inputs)
    schedule = services.schedules.update(principal, check_path_id(schedule_id, "schedule_id"), **changes)
    return render.JSON(render.schedule(schedule, services.schedules.next_fire_times(schedule)))


@router.delete(
    "/schedules/{schedule_id}",
    operation_id="delete_schedule",
    summary="Delete a schedule (its runs stay)",
    status_code=204,
    responses=ERRORS,
)
def delete_schedule(schedule_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    services.schedules.delete(principal, check_path_id(schedule_id, "schedule_id"))
    return Response(status_code=204)
