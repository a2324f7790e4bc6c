"""Request and response bodies. Field names, bounds and patterns follow the REST API v2 spec."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator

from plainrun.domain.storable import problem

SpecId = Annotated[str, Field(min_length=1, max_length=26, pattern=r"^[a-zA-Z0-9-_]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Value = StrictStr | StrictInt | StrictFloat
ProcessStage = Literal["Draft", "Published"]


def refuse_unstorable(data: Any) -> Any:
    """``data`` as it is, unless a value in it (a key or a value, at any depth) is one no database
    keeps (``plainrun.domain.storable``): text with a NUL character or a lone surrogate, a whole
    number beyond 64 bits, a number that is not finite. Such a value is invalid input, not a 500."""
    found = problem(data)
    if found is not None:
        raise ValueError(found)
    return data


class Body(BaseModel):
    """The base of every request body."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return refuse_unstorable(data)


class ErrorDetail(BaseModel):
    name: str
    value: str | int | float


class ErrorModel(BaseModel):
    status_code: int
    message: str
    details: list[ErrorDetail] | None = None


class RunInput(Body):
    name: Name
    value: Value


class CreateRunRequest(Body):
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


class BulkRunsRequest(Body):
    run_ids: list[SpecId] = Field(min_length=1, max_length=100)


class BulkResult(BaseModel):
    results: list[dict[str, str]]


class CreateProcessRequest(Body):
    agent_id: SpecId
    source: str = Field(min_length=1)
    name: Name | None = None
    description: str = Field(default="", max_length=1000)
    settings: dict[str, Any] | None = None


class UpdateProcessRequest(Body):
    source: str | None = Field(default=None, min_length=1)
    name: Name | None = None
    description: str | None = Field(default=None, max_length=1000)
    settings: dict[str, Any] | None = None


class CreateFileRequest(BaseModel):
    """Not a ``Body``: a NUL in the file's name is cleaned away like any other unsafe character."""

    agent_id: SpecId
    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255, pattern=r"^[^\x00-\x1f]*$")


class CreateAgentRequest(Body):
    name: Name


class ProcessResource(BaseModel):
    """A process; ``source`` and ``inputs`` (of the draft) when one process is read."""

    model_config = ConfigDict(extra="forbid")

    id: str
    agent_id: str
    name: str
    description: str
    draft_revision: int
    published_version: int | None
    stages: list[ProcessStage]
    settings: dict[str, Any]
    created_at: str
    updated_at: str
    source: str | None = None
    inputs: list[str] | None = None


class ProcessList(BaseModel):
    items: list[ProcessResource]
    continuation_token: str | None


class VersionResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    process_id: str
    version: int
    created_at: str
    source: str | None = None


class VersionList(BaseModel):
    items: list[VersionResource]
    continuation_token: None = None


class FileResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    agent_id: str
    name: str
    content_type: str
    size: int | None
    sha256: str | None
    uploaded: bool
    created_at: str


class UploadTarget(FileResource):
    """A file and where to upload its content, like an S3 presigned POST."""

    file_id: str
    upload_url: str
    upload_http_method: Literal["POST"]
    upload_fields: dict[str, str]


class AgentResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    created_at: str


class AgentList(BaseModel):
    items: list[AgentResource]
    continuation_token: None = None
