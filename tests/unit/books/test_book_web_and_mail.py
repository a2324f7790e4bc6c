"""HTTP against a local server and e-mail against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from plainrun.language import Execution, LocalEnvironment, Paused, SmtpSettings, Succeeded, parse

Log = Callable[..., list[str]]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: object) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.5)
            self._reply(200, {})
        elif self.path == "/missing":
            self._reply(404, {"error": "no"})
        elif self.path == "/exact":
            self._reply(200, b'{"rate": 0.1000000000000000000001, "count": 1180591620717411303424}')
        else:
            self._reply(200, {"vendor": "Acme", "score": 0.75, "token": self.headers.get("x-token")})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["content-length"]))
        if self.path == "/raw":  # the body as it was sent, and its content type
            self._reply(200, {"raw": raw.decode(), "type": self.headers["content-type"]})
            return
        self._reply(200, {"received": json.loads(raw)})


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the slow route's client has gone away by design


@pytest.fixture
def base_url() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetch_and_post_json(log_of: Log, base_url: str) -> None:
    body = (
        'fetch json from "{the base}/vendor" with\n  the headers is the headers\n'
        "say the above's vendor\nsay the above's score * 4\nsay the above's token\n"
        "post the invoice as json to \"{the base}/echo\"\nsay the above's received's total"
    )
    inputs = {"base": base_url, "invoice": {"total": 12.5}, "headers": {"x-token": "t-1"}}
    assert log_of(body, inputs) == ["Acme", "3", "t-1", "12.5"]


def test_numbers_fetched_and_posted_keep_every_digit(log_of: Log, base_url: str) -> None:
    body = (
        'fetch json from "{the base}/exact"\n'
        "say \"{the above's rate}\"\nsay the above's count + 1\n"
        "the invoice's total is the above's rate * 3\n"
        'post the invoice as json to "{the base}/raw"\n'
        "say the above's raw\nsay the above's type"
    )
    assert log_of(body, {"base": base_url, "invoice": {"total": 0}}) == [
        "0.1000000000000000000001",
        str(2**70 + 1),
        '{"total": 0.3000000000000000000003}',
        "application/json",
    ]


@pytest.mark.parametrize(
    ("path", "message"), [("/slow", "did not answer within 0.3 s"), ("/missing", "answered 404")]
)
def test_http_failures_become_exceptions(
    run_body: Callable[..., object], base_url: str, path: str, message: str
) -> None:
    outcome = run_body(
        f'fetch json from "{{the base}}{path}" where\n  the timeout is 0.3', {"base": base_url}
    )
    assert isinstance(outcome, Paused) and outcome.kind == "book" and outcome.line == 2
    assert message in outcome.question


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port: take a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_send_an_email_with_an_attachment_through_smtp(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env = LocalEnvironment(tmp_path, smtp=SmtpSettings("127.0.0.1", port, "robot@example.com"))
    file = env.add_file("report.csv", b"a,b\n1,2\n", "text/csv")
    program = parse(
        'to notify\n  send an email to "ops@example.com" where\n    the subject is "Report {the day}"\n'
        '    the body is "See attached."\n    the attachments are the file\n  the output id is the above\n'
    )
    outcome = Execution.start(program, {"day": "Monday"}, [file], env).run()
    assert isinstance(outcome, Succeeded)
    [message] = inbox.messages
    assert (message["From"], message["To"], message["Subject"]) == (
        "robot@example.com",
        "ops@example.com",
        "Report Monday",
    )
    assert outcome.outputs == [{"name": "id", "value": message["Message-ID"]}]
    # automatic mail (RFC 3834) that counts its hops: a process's mail never starts another run
    assert (message["Auto-Submitted"], message["X-Plainrun-Hops"]) == ("auto-generated", "1")
    parts = list(message.walk())
    attachment = next(part for part in parts if part.get_filename() == "report.csv")
    assert attachment.get_payload(decode=True) == b"a,b\n1,2\n"
    assert "See attached." in parts[1].get_payload(decode=True).decode()


def test_an_unreachable_smtp_server_is_an_exception(tmp_path: Path) -> None:
    env = LocalEnvironment(tmp_path, smtp=SmtpSettings("127.0.0.1", 1, "robot@example.com", timeout=2))
    program = parse('to notify\n  send an email to "ops@example.com"\n')
    outcome = Execution.start(program, {}, [], env).run()
    assert isinstance(outcome, Paused) and outcome.kind == "book" and outcome.line == 2


def test_mail_sent_by_a_run_started_by_e_mail_counts_one_more_hop(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    env = LocalEnvironment(tmp_path, smtp=SmtpSettings("127.0.0.1", port, "robot@example.com", hops=3))
    outcome = Execution.start(parse('to notify\n  send an email to "ops@example.com"\n'), {}, [], env).run()
    assert isinstance(outcome, Succeeded)
    [message] = inbox.messages
    assert (message["Auto-Submitted"], message["X-Plainrun-Hops"]) == ("auto-generated", "4")
