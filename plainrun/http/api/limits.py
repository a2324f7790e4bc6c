"""Bounds on what a request may carry: body sizes, enforced while the body streams in (not after it
was buffered), and no NUL character in the query (no database stores one in text; PostgreSQL refuses
it). Values no database keeps in JSON bodies (NUL, lone surrogates, numbers it cannot hold) are
refused by the request models (``models.Body``).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plainrun.http.api.errors import error_response


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-stream; an HTTPException so that FastAPI passes it through as is."""

    def __init__(self, limit: int):
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class BodyLimitMiddleware:
    """Refuse a request body over its bound with 413: by Content-Length at once, else while streaming.

    Paths ending in ``upload_suffix`` get ``upload_bytes``; every other request gets ``body_bytes``.
    """

    def __init__(self, app: ASGIApp, *, body_bytes: int, upload_bytes: int, upload_suffix: str = "/upload"):
        self.app = app
        self.body_bytes = body_bytes
        self.upload_bytes = upload_bytes
        self.upload_suffix = upload_suffix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"\x00" in query or (b"%00" in query.lower() and b"\x00" in unquote_to_bytes(query)):
            response = error_response(
                400, "Invalid input values", [{"name": "query", "value": "NUL characters are not allowed"}]
            )
            await response(scope, receive, send)
            return
        limit = self.upload_bytes if scope["path"].endswith(self.upload_suffix) else self.body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                response = error_response(413, BodyTooLarge(limit).detail)
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
