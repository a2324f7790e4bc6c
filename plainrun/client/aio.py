"""The asynchronous client: the methods of :class:`~plainrun.client.Client`, awaited; a driver of
the calls of :mod:`plainrun.client.calls` over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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


class AsyncClient(Methods, Connection[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """``AsyncClient("http://host:8080", key="…")``: the client's methods, awaited; close it
    (``aclose``), or use it as an async context manager."""

    def _open(self, timeout: float, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def drive(self, call: Call[T], /) -> T:
        """Send a call's requests (retried as :mod:`plainrun.client.retries` says); its result or error."""
        exchanges = Exchanges(call, self.retries, self.url)
        for step in exchanges:
            exchanges.answer = await self._carry_out(step)
        return exchanges.result

    async def _carry_out(self, step: Request[Any] | Sleep) -> httpx.Response | httpx.TransportError | None:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        try:
            return await self._http.request(step.method, step.path, **request_options(step, self.key))
        except httpx.TransportError as exc:
            return exc

    async def every(self, call: Listing[R], /) -> AsyncIterator[R]:
        """Every item of a list, page after page."""
        page_call: Listing[R] | None = call
        while page_call is not None:
            page = await self.drive(page_call)
            for item in page.items or []:
                yield item
            page_call = page_call.after(page)
