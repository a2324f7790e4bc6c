"""How the API's routes read a JSON body: through ``storable.read_json``, so that a number is kept
exactly as the client wrote it or refused with a 400 that says why (a fraction a 64-bit double
does not hold, ``1e-400`` that would become 0, a whole number of more digits than are kept),
never rounded on the way in. Every router of ``/v2`` is made with ``route_class=JsonRoute``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from plainrun.domain import storable


class JsonRequest(Request):
    """A request whose JSON body is read by ``storable.read_json``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = storable.read_json(await self.body())
            except storable.Unstorable as exc:
                raise HTTPException(400, f"Invalid input values: {exc}") from None
        return self._json


class JsonRoute(APIRoute):
    """An API route that reads its body as :class:`JsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_exactly(request: Request) -> Response:
            return await handler(JsonRequest(request.scope, request.receive))

        return read_exactly
