"""Start and stop the SMTP receiver: an aiosmtpd server on its own thread and event loop.

``start_smtp(services)`` returns a running ``SmtpServer`` (``plainrun serve`` starts one beside the
API, ``plainrun smtp`` runs one alone); ``stop()`` closes its socket, connections and loop. Any
number of receivers may run against one PostgreSQL database: a message delivered to two of them
still starts one run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller

from plainrun.services.container import Services
from plainrun.triggers.mail.handler import MailHandler

log = logging.getLogger("plainrun.mail")


class _Controller(Controller):
    """aiosmtpd's controller, able to listen on port 0 (a free port, for tests)."""

    def _trigger_server(self) -> None:
        server: Any = self.server  # an asyncio.Server, typed by aiosmtpd as AbstractServer
        if self.port == 0 and server is not None:
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    def __init__(self, controller: _Controller):
        self._controller = controller

    @property
    def host(self) -> str:
        return str(self._controller.hostname)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def stop(self) -> None:
        self._controller.stop()
        log.info("smtp stopped", extra={"action": "smtp_stopped"})

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_smtp(services: Services, *, host: str | None = None, port: int | None = None) -> SmtpServer:
    """Listen for mail on ``host:port`` (the settings' ``smtp_listen_host`` and ``smtp_listen_port``)."""
    settings = services.settings
    loop = asyncio.new_event_loop()
    controller = _Controller(
        MailHandler(services.mail),
        hostname=settings.smtp_listen_host if host is None else host,
        port=settings.smtp_listen_port if port is None else port,
        loop=loop,
        server_hostname=settings.mail_domain,
        ident="plainrun",
        data_size_limit=settings.max_email_bytes,
    )
    try:
        controller.start()
    except BaseException:
        if controller._thread is not None:
            controller.stop(no_assert=True)
        if not loop.is_closed():
            loop.close()
        raise
    log.info(
        "smtp listening",
        extra={"action": "smtp_started", "host": controller.hostname, "port": controller.port},
    )
    return SmtpServer(controller)
