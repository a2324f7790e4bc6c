"""Request and response bodies. Field names, bounds and patterns follow the REST API v2 spec."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

SpecId = Annotated[str, Field(min_length=1, max_length=26, pattern=r"^[a-zA-Z0-9-_]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Value = StrictStr | StrictInt | StrictFloat
ProcessStage = Literal["Draft", "Published"]


class ErrorDetail(BaseModel):
    name: str
    value: str | int | float


class ErrorModel(BaseModel):
    status_code: int
    message: str
    details: list[ErrorDetail] | None = None


class RunInput(BaseModel):
    name: Name
    value: Value


class CreateRunRequest(BaseModel):
    name: Name
    process_id: SpecId
    agent_id: SpecId
    stage: ProcessStage
    inputs: list[RunInput] | dict[Annotated[str, Field(min_length=1, max_length=100)], Value] | None = Field(
        default=None,
        description="Inputs to the process: the spec's list of {name, value}, or an object of name -> value.",
    )
    file_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=100)


class RunOutput(BaseModel):
    name: str
    value: str | int | float


class RunResource(BaseModel):
    """The spec's RunResource, plus plainrun's extra fields (state, times, trigger, archived, …)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    agent_id: str
    process_id: str
    stage: ProcessStage
    status: Literal["Created", "Running", "Exception", "Stopped", "Succeeded"]
    created_at: str
    file_ids: list[str] | None = None
    outputs: list[RunOutput] | None = None


class ListResponse(BaseModel):
    items: list[Any] | None
    continuation_token: str | None


class BulkRunsRequest(BaseModel):
    run_ids: list[SpecId] = Field(min_length=1, max_length=100)


class BulkResult(BaseModel):
    results: list[dict[str, str]]


class CreateProcessRequest(BaseModel):
    agent_id: SpecId
    source: str = Field(min_length=1)
    name: Name | None = None
    description: str = Field(default="", max_length=1000)
    settings: dict[str, Any] | None = None


class UpdateProcessRequest(BaseModel):
    source: str | None = Field(default=None, min_length=1)
    name: Name | None = None
    description: str | None = Field(default=None, max_length=1000)
    settings: dict[str, Any] | None = None


class CreateFileRequest(BaseModel):
    agent_id: SpecId
    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)


class CreateAgentRequest(BaseModel):
    name: Name
