"""``create_app(settings)``: the ASGI application (API v2 under /v2, metrics at /metrics).

With a ``WorkerConfig`` the app also runs a worker in its own event loop, as ``plainrun serve``
does for the embedded default, so one process is the whole service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.responses import RedirectResponse

from plainrun import __version__
from plainrun.api import files, guidance, mail, processes, runs, schedules, system, testsuite
from plainrun.api.errors import install_error_handlers
from plainrun.api.fastpath import RunsFastPath
from plainrun.api.limits import BodyLimitMiddleware
from plainrun.api.metrics import StoreCollector
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    worker: object | None = None,
    worker_metrics_dir: str | None = None,
) -> FastAPI:
    """``worker``: a ``WorkerConfig`` to run a worker beside the API, or None for the API alone.

    ``worker_metrics_dir``: where a worker in a child process writes its metrics (multiprocess
    mode), to serve them at /metrics with the API's own.
    """
    owned = services is None
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = None
        if worker is not None:
            from plainrun.engine.worker import Worker

            engine = Worker(services, worker)  # type: ignore[arg-type]
            app.state.worker = engine
            task = asyncio.create_task(engine.run(stop), name="plainrun-worker")
            ready = asyncio.create_task(engine.ready.wait())
            await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # the worker could not start: fail the start-up loudly
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
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
    for module in (runs, guidance, testsuite, processes, mail, schedules, files, system):
        app.include_router(module.router, prefix="/v2")
    registry = CollectorRegistry()
    registry.register(StoreCollector(services.store))
    if worker_metrics_dir is not None:
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry, path=worker_metrics_dir)
    from prometheus_client import REGISTRY

    app.mount("/metrics", make_asgi_app(_Combined(REGISTRY, registry)))
    # The web UI: its own app under /ui (session cookie, CSRF, HTML error pages), beside the API.
    from plainrun.web import create_ui

    app.mount("/ui", create_ui(services))

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    app.add_middleware(RunsFastPath)  # inside the body bound: POST/GET of runs without the framework
    app.add_middleware(
        BodyLimitMiddleware,
        body_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes + 64 * 1024,
    )
    return app


class _Combined:
    """The process's default metrics plus this app's store gauges, as one registry."""

    def __init__(self, *registries: CollectorRegistry):
        self.registries = registries

    def collect(self):  # type: ignore[no-untyped-def]
        for registry in self.registries:
            yield from registry.collect()
