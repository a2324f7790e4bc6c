"""``plainrun worker``: a worker process (run many, on many machines, against PostgreSQL)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from typing import Annotated

import typer

from plainrun.engine.worker import Worker, WorkerConfig
from plainrun.services.container import build_services
from plainrun.settings import Settings


async def run_worker(worker: Worker) -> None:
    """Run until SIGTERM or SIGINT, then finish or hand back the runs in flight."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.run(stop)


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        concurrency: Annotated[int, typer.Option(min=1, help="Runs in flight at once")] = 64,
        executors: Annotated[
            int | None, typer.Option(min=1, help="Executor processes (default: cores)")
        ] = None,
        grace: Annotated[
            float, typer.Option(help="Seconds to finish runs on SIGTERM, then hand back")
        ] = 10.0,
        lease: Annotated[float, typer.Option(min=1, help="Seconds a claim lasts without a heartbeat")] = 10.0,
    ) -> None:
        """Claim and execute runs until stopped (SIGTERM: finish or hand back the runs in flight)."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        services = build_services(Settings(), migrate=True)
        config = WorkerConfig(concurrency=concurrency, grace_s=grace).with_lease(lease)
        if executors:
            config = dataclasses.replace(config, executor_size=executors)
        try:
            asyncio.run(run_worker(Worker(services, config)))
        finally:
            services.close()
