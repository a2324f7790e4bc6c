"""The web UI under ``/ui``: server-rendered pages over the same services as the API.

``create_ui(services)`` builds an ASGI app that ``plainrun.http.api.create_app`` mounts at ``/ui``. It
has its own middleware (the signed session cookie, security headers) and its own error pages, so
the API under ``/v2`` is untouched by either.
"""

from plainrun.http.web.app import create_ui

__all__ = ["create_ui"]
