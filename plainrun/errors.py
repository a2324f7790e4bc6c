"""The one exception root of plainrun, and the tree below it.

    PlainrunError
    ├── InvalidInput          400: a value the caller sent is not acceptable
    │   └── InvalidToken      400: a continuation token that was forged or belongs to another query
    ├── Unauthenticated       401: no API key, or one that is unknown or revoked
    ├── NotFound              404: no such resource, or not visible to the caller
    ├── Conflict              409: the resource is not in a state that allows the operation
    ├── TooLarge              413: a body, upload or text over its bound
    ├── KeyReused             422: an Idempotency-Key sent again with another request
    ├── TooManyTries          429: too many failed sign-ins; wait, or the subject is locked
    └── StoreError            the database failed; translated at the store's edge
        └── StoreUnavailable  the database cannot be reached right now

Each class's docstring is its default message. Services raise these; HTTP, CLI, mail and the
scheduler render them. ``details`` is a list of ``(name, value)`` pairs, as the API's ErrorModel.
"""

from __future__ import annotations

from collections.abc import Iterable


class PlainrunError(Exception):
    """Something went wrong."""

    status_code = 500

    def __init__(self, message: str | None = None, details: Iterable[tuple[str, str | int | float]] = ()):
        self.message = message or (self.__doc__ or "").strip()
        self.details = list(details)
        super().__init__(self.message)


class InvalidInput(PlainrunError):
    """Invalid input values."""

    status_code = 400


class InvalidToken(InvalidInput):
    """The continuation token is not valid for this query."""


class Unauthenticated(PlainrunError):
    """A valid API key is required in the x-api-key header."""

    status_code = 401


class NotFound(PlainrunError):
    """The resource was not found."""

    status_code = 404


class Conflict(PlainrunError):
    """The resource is not in a state that allows this operation."""

    status_code = 409


class ProcessChanged(Conflict):
    """The process changed between the moment a run was prepared from it and the run's write."""


class TooLarge(PlainrunError):
    """The request is too large."""

    status_code = 413


class TooManyTries(PlainrunError):
    """Too many failed tries: wait before the next one."""

    status_code = 429

    def __init__(self, message: str | None = None, *, retry_after_s: int = 1):
        super().__init__(message)
        #: Seconds until the next try is taken (the ``Retry-After`` header).
        self.retry_after_s = retry_after_s


class KeyReused(PlainrunError):
    """This Idempotency-Key was used with another request; use a new key for a new request."""

    status_code = 422


class StoreError(PlainrunError):
    """The database failed to complete the operation."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now."""

    status_code = 503
