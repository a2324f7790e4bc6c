"""E-mail as an attacker sends it: real mail over loopback (smtplib) to the real SMTP receiver
(aiosmtpd), on SQLite and PostgreSQL.

A message is claimed before anything of it is stored and its run is written with its facts in one
transaction; a claim whose receiver died is answered 451 while fresh, then taken over; UTF-8 headers
are read; automatic mail and mail loops start nothing; a process starts a bounded number of runs a
minute from e-mail; the sender identity is one; a content type cannot break a download; a body a
run could not hold is refused at SMTP time.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from plainrun.domain.clock import utcnow
from plainrun.domain.runs import Run, RunQuery, RunState
from plainrun.engine.worker import WorkerConfig
from plainrun.http.app import create_app
from plainrun.language.limits import Limits
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings
from plainrun.store import schema
from plainrun.store.sql import mail as mail_sql
from plainrun.triggers.mail.server import SmtpServer, start_smtp
from tests.security.conftest import wait_for

SOURCE = 'to take in an email\n  say "mail"\n'
MAX_BYTES = 256 * 1024
SENDER = "ap@acme.example"


@dataclass
class Mail:
    services: Services
    smtp: SmtpServer
    client: TestClient
    key: str
    agent_id: str
    process_id: str

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, headers={"x-api-key": self.key}, **kw)

    def address(self, stage: str = "Published") -> str:
        settings = self.services.mail.settings(SYSTEM, self.process_id)
        return next(a.address for a in settings.addresses if a.stage.value == stage)

    def send(
        self, data: bytes | EmailMessage, *, sender: str = SENDER, to: str | None = None, utf8: bool = False
    ) -> tuple[int, str]:
        """The receiver's reply to the message (after MAIL FROM and RCPT TO were accepted)."""
        raw = data.as_bytes() if isinstance(data, EmailMessage) else data
        raw = re.sub(rb"\r?\n", b"\r\n", raw)  # SMTP's lines (smtplib sends bytes as they are)
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=60) as client:
            client.ehlo()
            options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
            assert client.mail(sender, options)[0] == 250
            code, reply = client.rcpt(to or self.address())
            assert code == 250, reply
            code, reply = client.data(raw)
        return code, reply.decode()

    def runs(self) -> list[Run]:
        return self.services.store.runs.page(RunQuery(process_id=self.process_id), limit=100)

    def file_ids(self) -> set[str]:
        """Every file of which anything is kept: its record, or its contents (in the data
        directory on SQLite, in the database on PostgreSQL)."""
        database = self.services.store.database  # type: ignore[attr-defined]
        with database.read() as tx:
            records = set(tx.scalars(sa.select(schema.files.c.id)))
            chunks = set(tx.scalars(sa.select(schema.file_chunks.c.file_id).distinct()))
        root = self.services.settings.data_dir / "files"
        local = {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()
        return records | chunks | local

    def facts(self, run: Run) -> dict[str, Any]:
        found = self.services.store.mail.facts(
            process_id=run.process_id, stage=run.stage.value, message_id=run.trigger_ref
        )
        assert found is not None
        return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def open_mail(database_url: str, data_dir: Path, *, worker: bool = False, **extra: Any) -> Iterator[Mail]:
    port = _free_port()
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        key_cache_s=0,
        max_email_bytes=MAX_BYTES,
        smtp_host="127.0.0.1",
        smtp_port=port,  # the e-mail book sends to the receiver itself
        **extra,
    )
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    process = services.processes.create(SYSTEM, agent_id=agent.id, source=SOURCE)
    services.processes.publish(SYSTEM, process.id)
    config = WorkerConfig(executor_size=1, concurrency=2, poll_s=0.2) if worker else None
    try:
        with (
            start_smtp(services, host="127.0.0.1", port=port) as smtp,
            TestClient(
                create_app(settings, services=services, worker=config), raise_server_exceptions=False
            ) as client,
        ):
            yield Mail(services, smtp, client, key, agent.id, process.id)
    finally:
        services.close()


@pytest.fixture
def mail(database_url: str, tmp_path: Path) -> Iterator[Mail]:
    with open_mail(database_url, tmp_path) as opened:
        yield opened


def message(message_id: str, *, sender: str = f"Accounts Payable <{SENDER}>", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    given = {
        "From": sender,
        "To": "invoices@acme.example",
        "Subject": "Invoice A-17",
        "Message-ID": message_id,
    }
    for name, value in {**given, **{k.replace("_", "-"): v for k, v in headers.items()}}.items():
        msg[name] = value
    msg.set_content("Please pay.")
    return msg


def with_attachment(msg: EmailMessage, data: bytes = b"a,b\n1,2\n") -> EmailMessage:
    msg.add_attachment(data, maintype="text", subtype="csv", filename="lines.csv")
    return msg


# --- claimed once, written in one transaction ------------------------------------------------------


def test_a_claim_whose_receiver_died_is_answered_451_while_fresh_then_taken_over_once(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    msg = with_attachment(message("<died@acme.example>"))
    address = mail.services.mail.resolve(mail.address())
    # A receiver claimed the message and died before its run was written.
    assert mail.services.store.mail.claim_message(message_id="<died@acme.example>", address=address).won
    code, reply = mail.send(msg)
    assert (code, reply[:5]) == (451, "4.3.0")  # the sender keeps the message and tries again
    assert mail.runs() == [] and mail.file_ids() == set()  # the waiting delivery stored nothing
    stale = utcnow() + mail_sql.STALE_CLAIM + timedelta(seconds=30)
    monkeypatch.setattr(mail_sql, "utcnow", lambda: stale)
    code, reply = mail.send(msg)  # the next delivery takes the claim over
    assert code == 250, reply
    [run] = mail.runs()
    assert reply.endswith(run.id) and run.trigger_ref == "<died@acme.example>"
    assert mail.file_ids() == set(run.file_ids) and len(run.file_ids) == 1
    assert [a["id"] for a in mail.facts(run)["attachments"]] == run.file_ids
    assert mail.send(msg) == (250, f"2.0.0 OK: {run.id}")  # and later deliveries find its run
    assert len(mail.runs()) == 1 and len(mail.file_ids()) == 1


def test_refused_and_repeated_messages_leave_no_file_contents(mail: Mail) -> None:
    msg = with_attachment(message("<once@acme.example>"))
    assert mail.send(msg)[0] == 250
    assert mail.send(msg)[0] == 250  # a repeat: the same run, nothing stored again
    [run] = mail.runs()
    assert mail.file_ids() == set(run.file_ids) and len(run.file_ids) == 1
    mail.services.mail.set_permissions(SYSTEM, mail.process_id, mode="restricted", senders=[SENDER])
    refused = [
        with_attachment(message("<spoof@acme.example>", sender="boss@acme.example")),  # From: disagrees
        with_attachment(message("<auto@acme.example>", Auto_Submitted="auto-replied")),
        with_attachment(message("<loop@acme.example>", X_Plainrun_Hops="99")),
    ]
    for refusal in refused:
        assert mail.send(refusal)[0] >= 500
    mail.services.store.processes.update(mail.process_id, source="to go\n  the total is\n")
    unrunnable = with_attachment(message("<draft@acme.example>"))
    assert mail.send(unrunnable, to=mail.address("Draft"))[0] == 554  # the draft does not parse
    assert len(mail.runs()) == 1 and mail.file_ids() == set(run.file_ids)


# --- UTF-8 headers --------------------------------------------------------------------------------


def test_a_from_header_with_a_utf8_address_is_accepted_and_read_as_utf8(mail: Mail) -> None:
    sender = "jörg@exämple.de"
    msg = message("<utf8@exämple.de>", sender=f"Jörg Müller <{sender}>", Subject="Rechnung für März")
    raw = msg.as_bytes(policy=msg.policy.clone(utf8=True))
    assert "jörg".encode() in raw  # the header is raw UTF-8 (RFC 6532), not an encoded word
    code, reply = mail.send(raw, sender=sender, utf8=True)
    assert code == 250, reply
    [run] = mail.runs()
    facts = mail.facts(run)
    assert (facts["sender"], facts["envelope sender"], facts["subject"]) == (
        sender,
        sender,
        "Rechnung für März",
    )
    assert run.trigger_ref == "<utf8@exämple.de>" and run.name == "Rechnung für März"
    # where senders are checked, the UTF-8 address is compared as it is written
    mail.services.mail.set_permissions(
        SYSTEM, mail.process_id, mode="restricted", senders=["Jörg@example.de"]
    )
    allowed = message("<utf8-2@example.de>", sender="jörg@example.de")
    assert (
        mail.send(
            allowed.as_bytes(policy=allowed.policy.clone(utf8=True)), sender="jörg@example.de", utf8=True
        )[0]
        == 250
    )


# --- mail loops and the rate of runs --------------------------------------------------------------


def test_a_process_that_mails_its_own_address_starts_one_run_not_a_loop(
    database_url: str, tmp_path: Path
) -> None:
    with open_mail(database_url, tmp_path, worker=True) as mail:
        own = mail.address("Draft")
        source = f'to answer an email\n  send an email to "{own}" where\n    the subject is "again"\n'
        mail.services.processes.update_draft(SYSTEM, mail.process_id, source=source)
        assert mail.send(message("<first@acme.example>"), to=own)[0] == 250
        [run] = mail.runs()

        def settled() -> bool:
            found = mail.services.store.runs.get(run.id)
            return found is not None and found.state not in (RunState.PENDING, RunState.RUNNING)

        wait_for(settled, 120, "the first run to send its mail")
        # Its own mail came back automatic (Auto-Submitted, one hop) and was refused: one run only.
        assert [r.id for r in mail.runs()] == [run.id]
        done = mail.services.store.runs.get(run.id)
        assert done is not None
        assert "did not accept" in str((done.state, done.error, done.exec_state)), (done.state, done.error)


def test_automatic_mail_and_mail_past_the_hop_bound_start_no_run(mail: Mail) -> None:
    for n, value in enumerate(["auto-generated", "auto-replied", "auto-notified; owner-email=x@y"]):
        code, reply = mail.send(message(f"<auto{n}@acme.example>", Auto_Submitted=value))
        assert (code, reply[:5]) == (550, "5.7.1"), reply
    code, reply = mail.send(message("<bounce@acme.example>"), sender="")  # a delivery report
    assert (code, reply[:5]) == (550, "5.7.1"), reply
    bound = mail.services.settings.max_mail_hops
    code, reply = mail.send(message("<far@acme.example>", X_Plainrun_Hops=str(bound)))
    assert (code, reply[:5]) == (554, "5.4.6") and "loop" in reply
    assert mail.runs() == []
    # a person's mail (Auto-Submitted: no) one hop short of the bound starts its run, and the mail that
    # run sends counts one more hop
    assert (
        mail.send(message("<near@acme.example>", X_Plainrun_Hops=str(bound - 1), Auto_Submitted="no"))[0]
        == 250
    )
    [run] = mail.runs()
    assert mail.services.execution.payload(run)["smtp"]["hops"] == bound - 1


def test_a_process_starts_at_most_its_rate_of_runs_a_minute_from_e_mail(
    database_url: str, tmp_path: Path
) -> None:
    with open_mail(database_url, tmp_path, mail_runs_per_minute=3) as mail:
        for n in range(3):
            assert (
                mail.send(message(f"<r{n}@acme.example>"), to=mail.address("Draft" if n else "Published"))[0]
                == 250
            )
        code, reply = mail.send(message("<r3@acme.example>"))
        assert (code, reply[:5]) == (451, "4.7.0") and "3 runs a minute" in reply
        assert mail.send(message("<r0@acme.example>"))[0] == 250  # a repeat is not a new run
        assert len(mail.runs()) == 3


# --- one sender identity --------------------------------------------------------------------------


def test_the_sender_permissions_check_is_the_sender_the_process_reads(mail: Mail) -> None:
    mail.services.mail.set_permissions(
        SYSTEM, mail.process_id, mode="restricted", senders=["boss@acme.example"]
    )
    # the envelope is allowed, the From: header names someone else: refused at DATA
    code, reply = mail.send(
        message("<spoof@acme.example>", sender="CEO <ceo@acme.example>"), sender="boss@acme.example"
    )
    assert (code, reply[:5]) == (550, "5.7.1") and "From:" in reply
    # the From: header allowed, the envelope not: refused at RCPT TO
    with smtplib.SMTP(mail.smtp.host, mail.smtp.port, timeout=60) as client:
        client.ehlo()
        client.mail("mallory@evil.example")
        assert client.rcpt(mail.address())[0] == 550
    assert (
        mail.send(
            message("<boss@acme.example>", sender="Boss <Boss@ACME.example>"), sender="boss@acme.example"
        )[0]
        == 250
    )
    [run] = mail.runs()
    facts = mail.facts(run)
    assert (facts["sender"], facts["envelope sender"]) == ("Boss@ACME.example", "boss@acme.example")
    # open to anyone: nothing is checked and the process reads the From: header, beside the envelope
    mail.services.mail.set_permissions(SYSTEM, mail.process_id, mode="anyone")
    assert mail.send(message("<list@acme.example>"), sender="list-bounces@lists.example")[0] == 250
    listed = next(r for r in mail.runs() if r.trigger_ref == "<list@acme.example>")
    assert (mail.facts(listed)["sender"], mail.facts(listed)["envelope sender"]) == (
        SENDER,
        "list-bounces@lists.example",
    )


# --- content types, bounds ------------------------------------------------------------------------


def test_a_content_type_with_non_ascii_characters_cannot_break_a_download(mail: Mail) -> None:
    raw = (
        "From: ap@acme.example\r\nTo: x@acme.example\r\nSubject: odd types\r\n"
        "Message-ID: <types@acme.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        "--b\r\nContent-Type: application/x-für\r\n"
        'Content-Disposition: attachment; filename="a.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
        '--b\r\nContent-Type: text/csv; charset="ütf-8"\r\n'
        'Content-Disposition: attachment; filename="b.csv"\r\n\r\na,b\r\n'
        "--b--\r\n"
    ).encode()
    assert mail.send(raw, utf8=True)[0] == 250
    [run] = mail.runs()
    records = mail.services.store.files.get_many(run.file_ids)
    assert [records[f].content_type for f in run.file_ids] == ["application/octet-stream", "text/csv"]
    for file_id, body in zip(run.file_ids, [b"\x00\x01\x02", b"a,b"], strict=True):
        r = mail.call("GET", f"/v2/files/{file_id}/content")
        assert r.status_code == 200 and r.content == body and r.headers["content-type"].isascii()
    # and through the API: the type is cleaned where it enters
    for given, kept in [
        ('text/plain; charset="ü"', "text/plain"),
        ("image/pñg", "application/octet-stream"),
        ("Text/Plain; charset=utf-8", "text/plain; charset=utf-8"),
    ]:
        r = mail.call(
            "POST", "/v2/files", json={"agent_id": mail.agent_id, "name": "x", "content_type": given}
        )
        assert r.status_code == 201, r.text
        assert mail.services.store.files.get(r.json()["file_id"]).content_type == kept  # type: ignore[union-attr]


def test_a_body_longer_than_a_run_holds_is_refused_at_smtp_time_with_552(mail: Mail) -> None:
    # the text a run holds, or the message's size when that is smaller (a body never decodes past it)
    assert mail.services.mail.max_text_chars == min(MAX_BYTES, Limits().max_text_chars)
    mail.services.mail.max_text_chars = 10_000  # the same check, at a size a test sends quickly
    long = message("<long@acme.example>")
    long.set_content(("x" * 69 + "\n") * 145)  # 10,150 characters
    code, reply = mail.send(long)
    assert (code, reply[:5]) == (552, "5.3.4") and "10,000 characters" in reply, reply
    html = message("<long-html@acme.example>")
    html.set_content("<p>" + "y\n" * 5_001 + "</p>", subtype="html")
    assert mail.send(html)[0] == 552
    assert mail.runs() == [] and mail.file_ids() == set()
    fits = message("<fits@acme.example>")
    fits.set_content(("x" * 69 + "\n") * 140)  # 9,800 characters
    assert mail.send(fits)[0] == 250
