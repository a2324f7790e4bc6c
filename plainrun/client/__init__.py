"""A Python client of a plainrun service, sync (:class:`Client`) and async (:class:`AsyncClient`).

    from plainrun.client import Client

    with Client("http://127.0.0.1:8080", key="…") as plainrun:
        run = plainrun.start_run(process_id, agent_id, name="invoice A-17", inputs={"amount": 100})
        run = plainrun.wait_for_run(run.id)

It imports nothing of the service (no database, no server): only httpx, pydantic and the domain's
run states. docs/client.md has examples (they run as tests).
"""

from plainrun.client.aio import AsyncClient
from plainrun.client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    NotFound,
    ServerError,
    ServiceUnreachable,
    Unauthorized,
    WaitTimedOut,
)
from plainrun.client.models import (
    Agent,
    BulkResult,
    ErrorModel,
    File,
    Learning,
    Process,
    ProcessVersion,
    Run,
    RunEvent,
    RunOutput,
    Schedule,
    TestCase,
    TestResult,
    TestRun,
    UploadTarget,
)
from plainrun.client.retries import Retries
from plainrun.client.sync import Client

__all__ = [
    "Agent",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "BulkResult",
    "Client",
    "ClientError",
    "Conflict",
    "ErrorModel",
    "File",
    "Learning",
    "NotFound",
    "Process",
    "ProcessVersion",
    "Retries",
    "Run",
    "RunEvent",
    "RunOutput",
    "Schedule",
    "ServerError",
    "ServiceUnreachable",
    "TestCase",
    "TestResult",
    "TestRun",
    "Unauthorized",
    "UploadTarget",
    "WaitTimedOut",
]
