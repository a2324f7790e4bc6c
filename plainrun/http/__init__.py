"""The HTTP side: the REST API v2 (``api``), the web UI (``web``), and the speed devices of both
(``speed``). ``create_app(settings)`` makes the one ASGI application serving them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plainrun.http.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the CLI's commands render with plainrun.http.api.render and should
    # not pay for importing the whole web application.
    if name == "create_app":
        from plainrun.http.app import create_app

        return create_app
    raise AttributeError(name)
