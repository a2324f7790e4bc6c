"""The HTTP API: REST API v2 (wire-compatible runs endpoints) and plainrun's own /v2 routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plainrun.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the CLI's commands render with plainrun.api.render and should not pay
    # for importing the whole web application.
    if name == "create_app":
        from plainrun.api.app import create_app

        return create_app
    raise AttributeError(name)
