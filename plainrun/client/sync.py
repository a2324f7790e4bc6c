"""The synchronous client: a driver of the calls of :mod:`plainrun.client.calls` over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from plainrun.client.connection import Connection
from plainrun.client.methods import Methods
from plainrun.client.models import Resource
from plainrun.client.retries import Exchanges, request_options
from plainrun.client.wire import Call, Listing, Request, Sleep

T = TypeVar("T")
R = TypeVar("R", bound=Resource)


class Driver(Methods):
    """The methods of :class:`~plainrun.client.methods.Methods`, answered at once by ``drive``."""

    def drive(self, call: Call[T], /) -> T:
        """The result of a call."""
        raise NotImplementedError

    def every(self, call: Listing[R], /) -> Iterator[R]:
        """Every item of a list, page after page."""
        page_call: Listing[R] | None = call
        while page_call is not None:
            page = self.drive(page_call)
            yield from page.items or []
            page_call = page_call.after(page)


class Client(Driver, Connection[httpx.Client, httpx.BaseTransport]):
    """A client of a plainrun service: ``Client("http://host:8080", key="…")``; close it, or use
    it as a context manager. ``transport`` is httpx's (tests pass ``httpx.MockTransport``)."""

    def _open(self, timeout: float, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def drive(self, call: Call[T], /) -> T:
        """Send a call's requests (retried as :mod:`plainrun.client.retries` says); its result or error."""
        exchanges = Exchanges(call, self.retries, self.url)
        for step in exchanges:
            exchanges.answer = self._carry_out(step)
        return exchanges.result

    def _carry_out(self, step: Request[Any] | Sleep) -> httpx.Response | httpx.TransportError | None:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        try:
            return self._http.request(step.method, step.path, **request_options(step, self.key))
        except httpx.TransportError as exc:
            return exc
