"""When a call is sent again, and after how long; and :class:`Exchanges`, the requests and waits of
a call, which the sync and the async client carry out.

A request that never reached the service (it could not connect) and a 429 are sent again whatever
the call. A call that is safe to repeat (reads, deletes, and starts that carry an ``Idempotency-Key``,
which the service answers with the first run) is also sent again after any other transport error
and after a 5xx. The waits grow exponentially, with jitter, and follow ``Retry-After``.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from plainrun.client import errors
from plainrun.client.wire import Call, Request, Sleep, error_of

T = TypeVar("T")


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


def again_after_error(request: Request[Any], exc: httpx.TransportError) -> bool:
    return request.retry or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def again_after_response(request: Request[Any], response: httpx.Response) -> bool:
    return response.status_code == 429 or (request.retry and response.status_code >= 500)


def unreachable(base_url: str, exc: httpx.TransportError) -> errors.ServiceUnreachable:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
    return errors.ServiceUnreachable(f"The plainrun service at {base_url} {kind}.")


def result(request: Request[Any], response: httpx.Response) -> Any:
    if response.is_success:
        return request.read(response)
    raise error_of(response)


def request_options(request: Request[Any], key: str | None) -> dict[str, Any]:
    """The arguments of ``httpx.Client.request`` for ``request``."""
    headers = dict(request.headers)
    if request.auth and key:
        headers["x-api-key"] = key
    options: dict[str, Any] = {"params": request.params, "headers": headers}
    if request.json is not None:
        options["json"] = request.json
    if request.files is not None:
        options.update(data=request.data, files=request.files)
    if request.content is not None:
        options["content"] = request.content
    return options


#: A driver sends each Request and answers with the response or the transport error, and waits
#: each Sleep out (answering None).
Exchange = Generator[Request[Any] | Sleep, httpx.Response | httpx.TransportError | None, T]


def _attempts(request: Request[T], retries: Retries, url: str) -> Exchange[T]:
    attempt = 0
    while True:
        answer = yield request
        if isinstance(answer, httpx.TransportError):
            if attempt >= retries.attempts or not again_after_error(request, answer):
                raise unreachable(url, answer) from answer
            yield Sleep(retries.wait(attempt))
        elif answer is not None:
            if attempt >= retries.attempts or not again_after_response(request, answer):
                return result(request, answer)  # type: ignore[no-any-return]
            yield Sleep(retries.wait(attempt, answer))
        attempt += 1


def _exchanges(call: Call[T], retries: Retries, url: str) -> Exchange[T]:
    steps = call.steps()
    answer: Any = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if isinstance(step, Sleep):
            answer = yield step
        else:
            answer = yield from _attempts(step.request(), retries, url)


class Exchanges(Generic[T]):
    """The requests and waits of a call (each request retried as above), for a driver to carry out::

    exchanges = Exchanges(call, retries, url)
    for step in exchanges:
        exchanges.answer = ...  # the response or the transport error of a Request; None after a Sleep
    return exchanges.result
    """

    def __init__(self, call: Call[T], retries: Retries, url: str):
        self._steps = _exchanges(call, retries, url)
        self.answer: httpx.Response | httpx.TransportError | None = None

    def __iter__(self) -> Exchanges[T]:
        return self

    def __next__(self) -> Request[Any] | Sleep:
        try:
            step = self._steps.send(self.answer)
        except StopIteration as done:
            self.result: T = done.value
            raise
        self.answer = None
        return step
