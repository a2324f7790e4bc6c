"""When a call is sent again, and after how long: shared by the sync and the async client.

A request that never reached the service (it could not connect) and a 429 are sent again whatever
the call. A call that is safe to repeat (reads, deletes, and starts that carry an ``Idempotency-Key``,
which the service answers with the first run) is also sent again after any other transport error
and after a 5xx. The waits grow exponentially, with jitter, and follow ``Retry-After``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from plainrun.client import errors
from plainrun.client.calls import Call, error_of


@dataclass(frozen=True)
class Retries:
    """``attempts`` more tries after the first, waiting ``backoff * 2**n`` seconds (at most ``cap``)."""

    attempts: int = 4
    backoff: float = 0.5
    cap: float = 8.0

    def wait(self, attempt: int, response: httpx.Response | None = None) -> float:
        after = response.headers.get("retry-after") if response is not None else None
        if after is not None:
            try:
                return min(max(float(after), 0.0), self.cap)
            except ValueError:
                pass
        return float(min(self.cap, self.backoff * 2**attempt) * random.uniform(0.5, 1.0))


NEVER = Retries(attempts=0)


def again_after_error(call: Call[Any], exc: httpx.TransportError) -> bool:
    return call.retry or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def again_after_response(call: Call[Any], response: httpx.Response) -> bool:
    return response.status_code == 429 or (call.retry and response.status_code >= 500)


def unreachable(base_url: str, exc: httpx.TransportError) -> errors.ServiceUnreachable:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
    return errors.ServiceUnreachable(f"The plainrun service at {base_url} {kind}.")


def result(call: Call[Any], response: httpx.Response) -> Any:
    if response.is_success:
        return call.read(response)
    raise error_of(response)


def request_options(call: Call[Any], key: str | None) -> dict[str, Any]:
    """The arguments of ``httpx.Client.request`` for ``call``."""
    headers = dict(call.headers)
    if call.auth and key:
        headers["x-api-key"] = key
    options: dict[str, Any] = {"params": call.params, "headers": headers}
    if call.json is not None:
        options["json"] = call.json
    if call.files is not None:
        options.update(data=call.data, files=call.files)
    if call.content is not None:
        options["content"] = call.content
    return options
