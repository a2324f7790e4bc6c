"""The hottest routes answered without the framework's per-request machinery.

``POST /v2/runs`` and ``GET /v2/runs/{id}`` are what clients call most, many times a second. Their
FastAPI routes cost more in routing, dependency solving, validation and the thread-pool hop than
the work itself. ``RunsFastPath`` answers these two when they plainly succeed: a JSON body that the
route's own model accepts, a valid key, a run that starts or exists. It calls the same services and
renders the same bytes.

Anything else (a body the model refuses, no key or a wrong one, an unknown process or run, any
error) is handed to the FastAPI routes with its body, and they answer it exactly as they always
do, so every error is still the spec's ErrorModel from one place.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plainrun.api import render
from plainrun.api.errors import error_response
from plainrun.api.models import CreateRunRequest
from plainrun.api.runs import check_path_id, prepare_run
from plainrun.services.container import Services
from plainrun.store.records import NewRun
from plainrun.store.sql import LoopGroupCommit, call_store

_RUN_PATH = re.compile(r"^/v2/runs/([^/]+)$")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _Delegate(Exception):
    """This request is the FastAPI routes' to answer."""


class RunsFastPath:
    """ASGI middleware: the happy paths of ``POST /v2/runs`` and ``GET /v2/runs/{id}``."""

    def __init__(self, app: ASGIApp, *, threads: int = 16):
        self.app = app
        # The services block (database calls): on an embedded database they run on the loop when
        # they need not wait (``call_store``), else here, one hop, not through anyio's pool.
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="plainrun-api")
        self._group: LoopGroupCommit | None = None  # new runs' group commit, made on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            method = scope["method"]
            if method == "POST" and path == "/v2/runs":
                await self._post_run(scope, receive, send)
                return
            if method == "GET" and path.startswith("/v2/runs/") and not scope.get("query_string"):
                match = _RUN_PATH.match(path)
                if match is not None:
                    await self._get_run(scope, receive, send, match.group(1))
                    return
        await self.app(scope, receive, send)

    # --- the routes ---------------------------------------------------------------------------

    async def _post_run(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
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
        key = headers.get(b"x-api-key")
        try:
            request = CreateRunRequest.model_validate_json(body)
            # Checked (on the loop where the database allows it), then written together with the
            # other runs that came during the same turn of the loop.
            new = await call_store(services.store, _prepare_run, services, key, request, executor=self._pool)
            if self._group is None:
                self._group = LoopGroupCommit(services.store, self._pool)
            (run,) = await self._group.create_runs([new])
            content = orjson.dumps(render.run(run))
        except (ValidationError, Exception):  # _Delegate, a refusal, a failure: the route answers
            await self.app(scope, _replay(body, receive), send)
            return
        await _send_json(send, 201, content)

    async def _get_run(self, scope: Scope, receive: Receive, send: Send, run_id: str) -> None:
        headers = _headers(scope)
        services = _services(scope)
        try:
            content = await call_store(
                services.store, _read_run, services, headers.get(b"x-api-key"), run_id, executor=self._pool
            )
        except Exception:
            await self.app(scope, receive, send)
            return
        await _send_json(send, 200, content)


# --- what runs in the thread pool (the same service calls as the routes) -------------------------


def _prepare_run(services: Services, key: bytes | None, body: CreateRunRequest) -> NewRun:
    if key is None:
        raise _Delegate()
    principal = services.keys.authenticate(key.decode("latin-1"))
    return prepare_run(services, principal, body)


def _read_run(services: Services, key: bytes | None, run_id: str) -> bytes:
    if key is None:
        raise _Delegate()
    principal = services.keys.authenticate(key.decode("latin-1"))
    return orjson.dumps(render.run(services.runs.get(principal, check_path_id(run_id, "run_id"))))


# --- ASGI plumbing ------------------------------------------------------------------------------


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by name; the first of repeated ones, as the routes read them."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _services(scope: Scope) -> Services:
    return scope["app"].state.services  # type: ignore[no-any-return]


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
