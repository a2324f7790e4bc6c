"""``plainrun smtp`` (the SMTP receiver alone) and ``plainrun processes email ID [--rotate STAGE]``.

Mount with ``mail.register(app, processes.app)``.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from plainrun.cli._common import console, services
from plainrun.domain.runs import Stage
from plainrun.services.access import SYSTEM


def email(
    process_id: str,
    rotate: Annotated[
        Stage | None, typer.Option(help="Give this stage a new address (the old one stops working)")
    ] = None,
) -> None:
    """A process's e-mail addresses (Draft and Published) and who may send to them."""
    with services() as s:
        if rotate is not None:
            s.mail.rotate(SYSTEM, process_id, rotate)
        settings = s.mail.settings(SYSTEM, process_id)
    for item in settings.addresses:
        console.print(f"{item.stage.value:<10} {item.address}", highlight=False)
    senders = settings.senders if settings.mode == "restricted" else settings.members
    shown = f": {', '.join(senders) or '(none)'}" if settings.mode != "anyone" else ""
    console.print(f"who may send: {settings.mode}{shown}", highlight=False)


def smtp(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Receive e-mail for processes (SMTP) until interrupted; each message starts a run."""
    from plainrun.triggers.mail.server import start_smtp

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with services() as s, start_smtp(s, host=host, port=port) as server:
        console.print(f"receiving mail for @{s.settings.mail_domain} on {server.host}:{server.port}")
        stop.wait()


def register(app: typer.Typer, processes_app: typer.Typer) -> None:
    app.command("smtp")(smtp)
    processes_app.command("email")(email)
