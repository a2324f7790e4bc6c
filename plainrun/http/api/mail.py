"""E-mail to a process: its addresses (/v2/processes/{id}/email), rotation, who may send.

- ``GET /v2/processes/{id}/email``: the Draft and Published addresses and the permissions;
- ``POST /v2/processes/{id}/email/rotate?stage=Draft|Published``: a new address for the stage;
- ``PUT /v2/processes/{id}/email/permissions``: ``{"mode": "anyone"|"members"|"restricted",
  "senders": [...]}`` (``senders``: the process's own list, used by ``restricted``);
- ``GET|PUT /v2/agents/{id}/email/members``: the agent's members (``{"senders": [...]}``), used by
  processes in ``members`` mode.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from plainrun.domain.mail import MAX_SENDERS
from plainrun.domain.runs import Stage
from plainrun.http.api import render
from plainrun.http.api.bodies import JsonRoute
from plainrun.http.api.deps import PrincipalDep, ServicesDep
from plainrun.http.api.models import Body, ProcessStage
from plainrun.http.api.runs import ERRORS, check_path_id
from plainrun.services.mail import MailSettings, StageAddress

router = APIRouter(tags=["email"], route_class=JsonRoute)

Sender = Annotated[str, Field(max_length=254)]


class PermissionsRequest(Body):
    mode: Literal["anyone", "members", "restricted"] = Field(
        description="anyone with the address, the agent's members, or the process's own senders"
    )
    senders: list[Sender] = Field(
        default_factory=list,
        max_length=MAX_SENDERS,
        description="for restricted: addresses (ap@acme.example) or whole domains (@acme.example)",
    )


class MembersRequest(Body):
    senders: list[Sender] = Field(
        max_length=MAX_SENDERS, description="addresses (ap@acme.example) or whole domains (@acme.example)"
    )


class AddressResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: ProcessStage
    address: str
    created_at: str | None


class Permissions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["anyone", "members", "restricted"]
    senders: list[str]


class MailSettingsResource(BaseModel):
    """A process's addresses (one per stage), who may send to them, and the agent's members."""

    model_config = ConfigDict(extra="forbid")

    process_id: str
    agent_id: str
    addresses: list[AddressResource]
    permissions: Permissions
    members: list[str]


class MembersResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str
    senders: list[str]


def _address(item: StageAddress) -> dict[str, Any]:
    return {"stage": item.stage.value, "address": item.address, "created_at": render.ts(item.created_at)}


def _settings(item: MailSettings) -> dict[str, Any]:
    return {
        "process_id": item.process_id,
        "agent_id": item.agent_id,
        "addresses": [_address(a) for a in item.addresses],
        "permissions": {"mode": item.mode, "senders": item.senders},
        "members": item.members,
    }


@router.get(
    "/processes/{process_id}/email",
    operation_id="get_process_email",
    summary="A process's e-mail addresses (Draft and Published) and who may send to them",
    response_model=MailSettingsResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_email(process_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    settings = services.mail.settings(principal, check_path_id(process_id, "process_id"))
    return render.JSON(_settings(settings))


@router.post(
    "/processes/{process_id}/email/rotate",
    operation_id="rotate_process_email",
    summary="Give a stage a new address; the old one is refused from now on",
    response_model=AddressResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def rotate_email(
    process_id: str, stage: ProcessStage, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    address = services.mail.rotate(principal, check_path_id(process_id, "process_id"), Stage(stage))
    return render.JSON(_address(address))


@router.put(
    "/processes/{process_id}/email/permissions",
    operation_id="set_process_email_permissions",
    summary="Set who may send mail to the process",
    response_model=MailSettingsResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def set_permissions(
    process_id: str, body: PermissionsRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    settings = services.mail.set_permissions(
        principal, check_path_id(process_id, "process_id"), mode=body.mode, senders=body.senders
    )
    return render.JSON(_settings(settings))


@router.get(
    "/agents/{agent_id}/email/members",
    operation_id="get_agent_email_members",
    summary="The agent's members: the senders its processes in members mode accept",
    response_model=MembersResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def get_members(agent_id: str, services: ServicesDep, principal: PrincipalDep) -> render.JSON:
    senders = services.mail.members(principal, check_path_id(agent_id, "agent_id"))
    return render.JSON({"agent_id": agent_id, "senders": senders})


@router.put(
    "/agents/{agent_id}/email/members",
    operation_id="set_agent_email_members",
    summary="Set the agent's members",
    response_model=MembersResource,
    responses=ERRORS,
    response_class=render.JSON,
)
def set_members(
    agent_id: str, body: MembersRequest, services: ServicesDep, principal: PrincipalDep
) -> render.JSON:
    senders = services.mail.set_members(principal, check_path_id(agent_id, "agent_id"), body.senders)
    return render.JSON({"agent_id": agent_id, "senders": senders})
