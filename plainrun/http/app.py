"""``create_app(settings)``: the one ASGI application: the API v2 under /v2, the web UI under /ui,
metrics at /metrics.

With a ``WorkerConfig`` the app also runs a worker in its own event loop (``plainrun serve
--inline-worker``), so one process is the whole service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app
from prometheus_client.registry import Collector
from starlette.responses import RedirectResponse

from plainrun import __version__
from plainrun.http.api import (
    files,
    guidance,
    mail,
    processes,
    runs,
    schedules,
    system,
    testsuite,
    webhooks,
)
from plainrun.http.api.errors import InternalErrors, install_error_handlers
from plainrun.http.api.limits import BodyLimitMiddleware
from plainrun.http.api.metrics import MetricsGuard, StoreCollector
from plainrun.http.speed import RunsFastPath
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from plainrun.engine.worker import WorkerConfig


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    worker: WorkerConfig | None = None,
    worker_metrics_dir: str | None = None,
) -> FastAPI:
    """``worker``: a worker to run beside the API, or None for the API alone.

    ``worker_metrics_dir``: where a worker in a child process writes its metrics (multiprocess
    mode), to serve them at /metrics with the API's own.
    """
    owned = services is None
    services = services or build_services(settings)
    app = FastAPI(
        title="plainrun",
        version=__version__,
        description="Runs business processes written in plain English. REST API v2.",
        openapi_url="/v2/openapi.json",
        docs_url="/v2/docs",
        redoc_url=None,
        lifespan=_lifespan(services, worker, owned=owned),
    )
    app.state.services = services
    install_error_handlers(app)
    for module in (runs, guidance, testsuite, processes, mail, schedules, webhooks, files, system):
        app.include_router(module.router, prefix="/v2")
    app.include_router(system.probes)
    metrics = make_asgi_app(_metrics(services, worker_metrics_dir))
    app.mount("/metrics", MetricsGuard(metrics, services) if settings.metrics_need_key else metrics)
    # The web UI: its own app under /ui (session cookie, CSRF, HTML error pages), beside the API.
    from plainrun.http.web import create_ui

    app.mount("/ui", create_ui(services))

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    if settings.fast:
        app.add_middleware(RunsFastPath)  # inside the body bound: POST/GET of runs without the framework
    app.add_middleware(
        BodyLimitMiddleware,
        body_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes + 64 * 1024,
    )
    app.add_middleware(InternalErrors)  # outermost: no error leaves without the ErrorModel
    return app


def _lifespan(services: Services, worker: WorkerConfig | None, *, owned: bool):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = None
        if worker is not None:
            from plainrun.engine.worker import Worker

            engine = Worker(services, worker)
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

    return lifespan


def _metrics(services: Services, worker_metrics_dir: str | None) -> _Combined:
    registry = CollectorRegistry()
    registry.register(StoreCollector(services))
    if worker_metrics_dir is not None:
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry, path=worker_metrics_dir)  # type: ignore[no-untyped-call]
    return _Combined(REGISTRY, registry)


class _Combined(Collector):
    """The process's default metrics plus this app's store gauges, as one registry."""

    def __init__(self, *registries: CollectorRegistry):
        self.registries = registries

    def collect(self) -> Iterable[Metric]:
        for registry in self.registries:
            yield from registry.collect()
