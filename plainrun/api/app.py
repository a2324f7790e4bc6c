"""``create_app(settings)``: the ASGI application (API v2 under /v2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from plainrun import __version__
from plainrun.api import files, processes, runs, system
from plainrun.api.errors import install_error_handlers
from plainrun.api.limits import BodyLimitMiddleware
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    owned = services is None
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            services.close()

    app = FastAPI(
        title="plainrun",
        version=__version__,
        description="Runs business processes written in plain English. REST API v2.",
        openapi_url="/v2/openapi.json",
        docs_url="/v2/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    for module in (runs, processes, files, system):
        app.include_router(module.router, prefix="/v2")
    app.add_middleware(
        BodyLimitMiddleware, body_bytes=settings.max_body_bytes, upload_bytes=settings.max_upload_bytes + 64 * 1024
    )
    return app
