"""``plainrun serve``: the API, the scheduler, the SMTP receiver and (unless ``--no-worker``) a worker
in a child process of its own."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from plainrun import heap
from plainrun.cli._common import console, start_services
from plainrun.services.container import Services
from plainrun.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
        examples: Annotated[
            bool, typer.Option(help="Set up the demo agent, example processes and a key")
        ] = False,
        no_worker: Annotated[
            bool, typer.Option("--no-worker", help="Serve the API only (workers run apart)")
        ] = False,
        inline_worker: Annotated[
            bool,
            typer.Option(
                "--inline-worker",
                help="Run the worker inside this process (one process; its metrics at /metrics)",
            ),
        ] = False,
    ) -> None:
        """Serve the API on the configured database (migrating it first)."""
        overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        settings = Settings(**overrides)  # type: ignore[arg-type]
        services = start_services(settings)
        if examples:
            _set_up_examples(services)
        _serve(services, worker="none" if no_worker else "inline" if inline_worker else "child")


def _set_up_examples(services: Services) -> None:
    """The demo agent and processes, a key, and the shell variables of the README's curl session."""
    from plainrun.demo import seed

    settings = services.settings
    demo = seed(services)
    env = settings.data_dir / "demo.env"
    env.parent.mkdir(parents=True, exist_ok=True)
    lines = {
        "PLAINRUN_URL": settings.base_url,
        "PLAINRUN_KEY": demo.api_key,
        "AGENT_ID": demo.agent_id,
        **{f"PROCESS_{name.split()[0].upper()}": pid for name, pid in demo.processes.items()},
    }
    env.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in lines.items()))
    console.print(f"demo agent {demo.agent_id}; processes: {demo.processes}", highlight=False)
    console.print(f"API key (shown once): [bold]{demo.api_key}[/bold]")
    console.print(f"shell variables for the README's curl session: source {env}", highlight=False)


def _serve(services: Services, *, worker: str) -> None:
    """The SMTP receiver, the scheduler and the worker (``none``, ``inline`` or a ``child``
    process), around the HTTP server until it stops."""
    # Imported here: every other command of the CLI starts faster without the web stack.
    import uvicorn

    from plainrun.engine.supervisor import WorkerProcess
    from plainrun.engine.worker import WorkerConfig
    from plainrun.http import create_app
    from plainrun.http.server import protocol
    from plainrun.triggers.mail.server import start_smtp
    from plainrun.triggers.scheduler import Scheduler, running

    settings = services.settings
    smtp = start_smtp(services)
    console.print(f"SMTP for e-mail to processes on {smtp.host}:{smtp.port}", highlight=False)
    # The worker runs in a process of its own (a core of its own), woken by the API's commits.
    child = WorkerProcess() if worker == "child" else None
    try:
        if child is not None:
            child.start()
        app = create_app(
            settings,
            services=services,
            worker=WorkerConfig() if worker == "inline" else None,
            worker_metrics_dir=child.metrics_dir if child is not None else None,
        )
        heap.freeze()  # this process serves until it ends: what it imported lives as long
        with running(Scheduler(services.schedules)):
            uvicorn.run(
                app,
                host=settings.host,
                port=settings.port,
                log_level="warning",
                access_log=False,
                http=protocol(settings),
            )
    finally:
        if child is not None:
            child.stop()
        smtp.stop()
