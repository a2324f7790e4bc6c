"""``plainrun worker``: a worker process (run many, on many machines, against PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import sys
from typing import Annotated

import typer
import uvloop

from plainrun import heap
from plainrun.cli._common import start_services
from plainrun.engine.worker import Worker, WorkerConfig
from plainrun.settings import Settings

PR_SET_PDEATHSIG = 1


async def run_worker(worker: Worker) -> None:
    """Run until SIGTERM or SIGINT, then finish or hand back the runs in flight."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.run(stop)


def _end_with_parent(parent: int) -> None:
    """SIGTERM (a graceful stop) when the parent process dies; exit at once if it is gone already."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        raise SystemExit(0)


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
        parent: Annotated[
            int | None, typer.Option(hidden=True, help="Stop when this process (plainrun serve) ends")
        ] = None,
    ) -> None:
        """Claim and execute runs until stopped (SIGTERM: finish or hand back the runs in flight)."""
        level = logging.INFO
        if parent is not None:
            _end_with_parent(parent)
            level = logging.WARNING  # as quiet as the plainrun serve it belongs to
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        services = start_services(Settings())
        config = WorkerConfig(concurrency=concurrency, grace_s=grace).with_lease(lease)
        if executors:
            config = dataclasses.replace(config, executor_size=executors)
        try:
            # uvloop: the worker's loop turns many times per run (executor messages, futures).
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                worker = Worker(services, config)
                heap.freeze()  # this process is the worker's alone: what it imported lives as long
                runner.run(run_worker(worker))
        finally:
            services.close()
