"""The HTTP API: REST API v2 (wire-compatible runs endpoints) and plainrun's own /v2 routes."""

from plainrun.api.app import create_app

__all__ = ["create_app"]
