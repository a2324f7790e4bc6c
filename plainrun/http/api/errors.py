"""Every error leaves as the spec's ErrorModel: ``{"status_code", "message", "details"}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plainrun.domain import storable
from plainrun.errors import PlainrunError

log = logging.getLogger("plainrun.http.api")


def error_response(status_code: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    body = {"status_code": status_code, "message": message, "details": details}
    headers = {"WWW-Authenticate": 'APIKey header="x-api-key"'} if status_code == 401 else None
    return Response(
        storable.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors()[:50]:
        out.append({"name": _loc(tuple(err.get("loc", ()))), "value": str(err.get("msg", "invalid"))[:500]})
    return out


def _validation_message(exc: RequestValidationError) -> str:
    """The ErrorModel's message: what was refused, when a check of ours said why (a value no
    database keeps: not finite, too many digits, NUL); the details name every field either way."""
    reasons = [
        str(err.get("msg", "")).removeprefix("Value error, ")
        for err in exc.errors()
        if str(err.get("msg", "")).startswith("Value error, ")
    ]
    return f"Invalid input values: {reasons[0][:300]}" if reasons else "Invalid input values"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlainrunError)
    async def _plainrun_error(_request: Request, exc: PlainrunError) -> Response:
        if exc.status_code >= 500:
            log.error("request failed", extra={"action": "request_failed", "error": exc.message})
        details = [{"name": n, "value": v} for n, v in exc.details] or None
        return error_response(exc.status_code, exc.message, details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(400, _validation_message(exc), _validation_details(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        messages = {404: "Not found", 405: "Method not allowed"}
        message = exc.detail if isinstance(exc.detail, str) else messages.get(exc.status_code, "Error")
        if exc.status_code == 404 and message == "Not Found":
            message = "The resource was not found."
        return error_response(exc.status_code, message)


class InternalErrors:
    """The outermost middleware: an error nothing else handled is logged and answered as the
    ErrorModel 500, and goes no further. (An error that reaches the server after an answer was
    sent makes uvicorn close the connection, and Starlette's last-resort handler re-raises what it
    answers: a keep-alive connection would be lost to every internal error.) An error after the
    answer started is logged only: uvicorn closes a connection whose answer is unfinished."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unhandled error", extra={"action": "internal_error"})
            if not started:
                await error_response(500, "Internal server error")(scope, receive, send)
