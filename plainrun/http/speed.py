"""The speed devices of the HTTP side, all here (the store's are in ``plainrun.store.fast``).

Switched off together with ``PLAINRUN_FAST=false``: ``plainrun serve`` then runs plain uvicorn and
FastAPI's routes alone.

1. ``RunsFastPath``: ``POST /v2/runs`` and ``GET /v2/runs/{id}`` are what clients call most, many
   times a second, and their FastAPI routes cost more in routing, dependency solving, validation
   and the thread-pool hop than the work itself. This middleware answers them when they plainly
   succeed: a JSON body that the route's own model accepts, a valid key, a run that starts or
   exists. It calls the same service methods (``RunService.start_async``, ``RunService.get``) and
   renders the same bytes (``plainrun.http.api.render``). It reads the body as the route does
   (``storable.read_json`` where a number must be read as written). Anything else (a body the model
   refuses, no key or a wrong one, an unknown process or run, any error) is handed to the FastAPI
   route with its body, which answers it exactly as always: every error still comes from one place.
   A start with an ``Idempotency-Key`` is always the route's (its key and its run are written in one
   transaction there, not in the group commit).
2. ``OneWriteHttpProtocol``: uvicorn writes a response's head when the app sends
   ``http.response.start`` and its body when it sends ``http.response.body``: two sends, so two
   wake-ups of the client, for every small JSON answer. This protocol gathers what is written
   during one turn of the event loop and sends it at the end of that turn, in one write.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from plainrun.domain import storable
from plainrun.http.api import render
from plainrun.http.api.errors import error_response
from plainrun.http.api.models import PLAIN_JSON, CreateRunRequest
from plainrun.http.api.runs import check_path_id, run_request
from plainrun.services.access import Principal
from plainrun.services.container import Services

_RUN_PATH = re.compile(r"^/v2/runs/([^/]+)$")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _Delegate(Exception):
    """This request is the FastAPI routes' to answer."""


class RunsFastPath:
    """ASGI middleware: the happy paths of ``POST /v2/runs`` and ``GET /v2/runs/{id}``."""

    def __init__(self, app: ASGIApp, *, threads: int = 16):
        self.app = app
        # The services block (database calls): on an embedded database they run on the loop when
        # they need not wait (``Store.call``), else here, one hop, not through anyio's pool.
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="plainrun-api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if method == "POST" and path == "/v2/runs":
                await self._post_run(scope, receive, send)
                return
            if method == "GET" and path.startswith("/v2/runs/") and not scope.get("query_string"):
                match = _RUN_PATH.match(path)
                if match is not None:
                    await self._get_run(scope, receive, send, match.group(1))
                    return
        await self.app(scope, receive, send)

    async def _post_run(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        keyed = b"idempotency-key" in headers  # a keyed start is the route's (one transaction with its key)
        if keyed or not headers.get(b"content-type", b"").startswith(b"application/json"):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except HTTPException as exc:  # over the body bound while streaming
            response = error_response(exc.status_code, exc.detail)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        services = _services(scope)
        try:
            principal = _cached_principal(services, headers)
            if principal is None:
                principal = await services.store.call(_principal, services, headers, executor=self._pool)
            request = run_request(_create_request(body))
            run = await services.runs.start_async(principal, request, self._pool)
        except Exception:  # _Delegate, a refusal, a failure: the route answers (no run was made)
            await self.app(scope, _replay(body, receive), send)
            return
        await _send_json(send, 201, storable.dumps(render.run(run)))

    async def _get_run(self, scope: Scope, receive: Receive, send: Send, run_id: str) -> None:
        services = _services(scope)
        try:
            content = await services.store.call(
                _read_run, services, _headers(scope), run_id, executor=self._pool
            )
        except Exception:
            await self.app(scope, receive, send)
            return
        await _send_json(send, 200, content)


def _create_request(body: bytes) -> CreateRunRequest:
    """The body as the route reads it: a body whose numbers must be read as written (see
    ``storable.read_json``) is read so, the others straight by the model (the C check over the
    bytes is all they cost; with nothing else to look at, the model does not walk the values for
    what no database keeps either). A value that cannot be kept raises, and the route answers it."""
    if storable.plain_json(body):
        return CreateRunRequest.model_validate_json(body, context=PLAIN_JSON)
    if storable.may_lose(body):
        return CreateRunRequest.model_validate(storable.read_json(body))
    return CreateRunRequest.model_validate_json(body)


def _cached_principal(services: Services, headers: dict[bytes, bytes]) -> Principal | None:
    """The caller, when its key was checked a moment ago (no database call, so right on the loop)."""
    key = headers.get(b"x-api-key")
    return services.keys.cached(key.decode("latin-1")) if key is not None else None


def _principal(services: Services, headers: dict[bytes, bytes]) -> Principal:
    key = headers.get(b"x-api-key")
    if key is None:
        raise _Delegate()
    return services.keys.authenticate(key.decode("latin-1"))


def _read_run(services: Services, headers: dict[bytes, bytes], run_id: str) -> bytes:
    principal = _principal(services, headers)
    return storable.dumps(render.run(services.runs.get(principal, check_path_id(run_id, "run_id"))))


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by name; the first of repeated ones, as the routes read them."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _services(scope: Scope) -> Services:
    services: Services = scope["app"].state.services
    return services


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then whatever the connection says next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_json(send: Send, status: int, content: bytes) -> None:
    headers: list[Any] = [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


# --- one write per response --------------------------------------------------------------------


class _GatheringTransport:
    """A transport that holds writes until the end of the loop's current turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_GatheringTransport(transport, self.loop))  # type: ignore[arg-type]
