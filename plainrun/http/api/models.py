"""Request and response bodies. Field names, bounds and patterns follow the REST API v2 spec."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    model_validator,
)

from plainrun.domain import files
from plainrun.domain.storable import problem

SpecId = Annotated[str, Field(min_length=1, max_length=26, pattern=r"^[a-zA-Z0-9-_]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Value = StrictStr | StrictInt | StrictFloat
ProcessStage = Literal["Draft", "Published"]


def refuse_unstorable(data: Any) -> Any:
    """``data`` as it is, unless a value in it (a key or a value, at any depth) is one no database
    keeps (``plainrun.domain.storable``): text with a NUL character or a lone surrogate, a whole
    number of more digits than it keeps, a number that is not finite. Such a value is invalid
    input, not a 500."""
    found = problem(data)
    if found is not None:
        raise ValueError(found)
    return data


#: The validation context of a body read from JSON text that ``storable.plain_json`` passed: its
#: values are storable, and are not walked again (by the body and by each model within it).
PLAIN_JSON: dict[str, bool] = {"plain_json": True}


class Body(BaseModel):
    """The base of every request body."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context is PLAIN_JSON:
            return data
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
    name: Name
    value: str | int | float


class RunResource(BaseModel):
    """The spec's RunResource, plus plainrun's extra fields (state, times, trigger, archived, …)."""

    model_config = ConfigDict(extra="allow")

    id: SpecId
    name: Name
    agent_id: SpecId
    process_id: SpecId
    stage: ProcessStage
    status: Literal["Created", "Running", "Exception", "Stopped", "Succeeded"]
    created_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    file_ids: list[str] | None = None
    outputs: list[RunOutput] | None = None


class RunList(BaseModel):
    """The spec's ListResponse, of runs."""

    items: list[RunResource]
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
    archived: bool | None = None


class CreateFileRequest(BaseModel):
    """Kognitos's request (``file_name``; ``agent_id`` may be left out with an agent's own key), with
    ``name`` accepted for ``file_name``. Not a ``Body``: a NUL in the file's name is cleaned away like
    any other unsafe character."""

    agent_id: SpecId | None = Field(default=None, description="Optional with a key scoped to one agent")
    file_name: str = Field(
        min_length=1,
        max_length=files.NAME_MAX,
        validation_alias=AliasChoices("file_name", "name"),
        description="The file's name (``name`` is accepted too); shown and offered on download only",
    )
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
    #: Out of the list of processes (its runs are kept).
    archived: bool = False
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
    #: On publishing: false when the draft equalled the latest version and no version was made.
    created: bool | None = None


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
    """A file and where to upload its contents: Kognitos's target (send the bytes with
    ``upload_http_method`` to ``upload_url`` with ``upload_http_headers``), and the fields of a
    multipart POST to the same URL, like an S3 presigned POST."""

    file_name: str
    file_id: str
    upload_url: str
    upload_http_method: Literal["PUT"]
    upload_http_headers: dict[str, str]
    upload_fields: dict[str, str]


class AgentResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    created_at: str


class AgentList(BaseModel):
    items: list[AgentResource]
    continuation_token: None = None


class RunEventResource(BaseModel):
    """One change in a run's timeline."""

    model_config = ConfigDict(extra="forbid")

    id: int
    at: str
    kind: str
    from_state: str | None
    to_state: str | None
    attempt: int
    data: dict[str, Any] | None


class RunEventList(BaseModel):
    items: list[RunEventResource]
    continuation_token: None = None


class Health(BaseModel):
    """200 when the database answers, 503 (``degraded``) when it does not."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    version: str
