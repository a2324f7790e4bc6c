"""The client's exceptions: one root, the tree below it.

    ClientError
    ├── ServiceUnreachable    the service could not be reached (after the retries)
    ├── WaitTimedOut          a run did not reach an end state in the time given
    └── ApiError              the service answered with an error (``error`` holds its ErrorModel)
        ├── BadRequest        400, 413, 422: the request was refused as it is
        ├── Unauthorized      401: no API key, or one that is unknown or revoked
        ├── NotFound          404: no such resource, or not visible to the key
        ├── Conflict          409: the resource's state does not allow the operation
        └── ServerError       5xx and anything else

Each class's docstring is its default message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plainrun.client.models import ErrorModel, Run


class ClientError(Exception):
    """The request to plainrun failed."""

    def __init__(self, message: str | None = None):
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class ServiceUnreachable(ClientError):
    """The plainrun service could not be reached."""


class WaitTimedOut(ClientError):
    """The run did not reach an end state in the time given."""

    def __init__(self, run: Run, message: str | None = None):
        self.run = run
        super().__init__(message or f"Run {run.id} is still {run.state or run.status} after the wait.")


class ApiError(ClientError):
    """The service answered with an error."""

    def __init__(self, error: ErrorModel):
        self.error = error
        self.status_code = error.status_code
        super().__init__(error.message)


class BadRequest(ApiError):
    """The request was refused as it is."""


class Unauthorized(ApiError):
    """A valid API key is required."""


class NotFound(ApiError):
    """The resource was not found."""


class Conflict(ApiError):
    """The resource is not in a state that allows this operation."""


class ServerError(ApiError):
    """The service failed to answer."""


def for_status(status_code: int) -> type[ApiError]:
    """The exception class of an error response."""
    if status_code in (400, 413, 422):
        return BadRequest
    return {401: Unauthorized, 404: NotFound, 409: Conflict}.get(status_code, ServerError)
