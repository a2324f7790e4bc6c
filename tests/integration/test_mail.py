"""E-mail to a process: real mail over loopback (smtplib) to the real SMTP receiver, on both databases."""

from __future__ import annotations

import io
import smtplib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfWriter

from plainrun.domain.runs import Run, RunQuery, RunState, Trigger
from plainrun.http.app import create_app
from plainrun.services.container import Services, build_services
from plainrun.services.mail import TryLater
from plainrun.settings import Settings
from plainrun.triggers.mail.server import SmtpServer, start_smtp

SOURCE = 'to take in an email\n  say "mail"\n'
MAX_BYTES = 64 * 1024


@dataclass
class Env:
    services: Services
    smtp: SmtpServer
    client: TestClient
    agent_id: str
    key: str
    other_key: str
    process_id: str

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, headers={"x-api-key": key or self.key}, **kw)

    def address(self, stage: str = "Published") -> str:
        r = self.call("GET", f"/v2/processes/{self.process_id}/email")
        assert r.status_code == 200, r.text
        return next(a["address"] for a in r.json()["addresses"] if a["stage"] == stage)

    def send(
        self, message: EmailMessage, sender: str = "ap@acme.example", to: list[str] | None = None
    ) -> None:
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=30) as client:
            client.send_message(message, from_addr=sender, to_addrs=to or [self.address()])

    def runs(self) -> list[Run]:
        return self.services.store.runs.page(RunQuery(process_id=self.process_id), limit=100)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, key_cache_s=0, max_email_bytes=MAX_BYTES
    )
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    other = services.store.agents.create("other")
    _, key = services.keys.create(agent_id=agent.id)
    _, other_key = services.keys.create(agent_id=other.id)
    process = services.processes.create(services_principal(), agent_id=agent.id, source=SOURCE)
    services.processes.publish(services_principal(), process.id)
    try:
        with (
            start_smtp(services, host="127.0.0.1", port=0) as smtp,
            TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client,
        ):
            yield Env(services, smtp, client, agent.id, key, other_key, process.id)
    finally:
        services.close()


def services_principal() -> Any:
    from plainrun.services.access import SYSTEM

    return SYSTEM


def message(subject: str = "Invoice A-17", body: str = "Please pay.", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.get("sender", "Accounts Payable <ap@acme.example>")
    msg["To"] = headers.get("to", "invoices@acme.example")
    msg["Subject"] = subject
    msg["Date"] = "Tue, 04 Jun 2024 10:30:00 +0200"
    msg["Message-ID"] = headers.get("message_id", make_msgid(domain="acme.example"))
    msg.set_content(body)
    return msg


def tiny_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_message_with_a_pdf_and_a_csv_starts_one_run_with_both_files_and_the_facts(env: Env) -> None:
    msg = message(body="Two attachments, urgent.")
    msg.add_alternative("<p>Two attachments, <b>urgent</b>.</p>", subtype="html")
    pdf = tiny_pdf()
    csv = b"invoice,amount\nA-17,120.50\nA-18,99.00\n"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="invoice-A-17.pdf")
    msg.add_attachment(csv, maintype="text", subtype="csv", filename="lines.csv")
    env.send(msg)
    (run,) = env.runs()
    assert (run.state, run.trigger, run.trigger_ref) == (RunState.PENDING, Trigger.EMAIL, msg["Message-ID"])
    assert run.name == "Invoice A-17"
    files = env.services.store.files.get_many(run.file_ids)
    assert [(files[f].name, files[f].content_type, files[f].size) for f in run.file_ids] == [
        ("invoice-A-17.pdf", "application/pdf", len(pdf)),
        ("lines.csv", "text/csv", len(csv)),
    ]
    with env.services.blobs.open(run.file_ids[1]) as stream:
        assert stream.read() == csv
    facts = env.services.store.mail.facts(
        process_id=run.process_id, stage=run.stage.value, message_id=run.trigger_ref
    )
    assert facts is not None
    assert facts["subject"] == "Invoice A-17"
    assert facts["sender"] == "ap@acme.example"
    assert facts["to"] == "invoices@acme.example"
    assert facts["body"].strip() == "Two attachments, urgent."
    assert facts["html body"].strip() == "<p>Two attachments, <b>urgent</b>.</p>"
    assert facts["date"] == "2024-06-04T08:30:00+00:00"
    assert facts["message id"] == msg["Message-ID"]
    assert [a["id"] for a in facts["attachments"]] == run.file_ids


def test_the_same_message_id_twice_starts_one_run(env: Env) -> None:
    msg = message(message_id="<once@acme.example>")
    env.send(msg)
    env.send(msg)
    assert [r.trigger_ref for r in env.runs()] == ["<once@acme.example>"]
    # to the Draft address as well: one more run, of the draft
    env.send(msg, to=[env.address("Draft"), env.address("Draft")])
    assert sorted(r.stage.value for r in env.runs()) == ["Draft", "Published"]


def test_an_unknown_or_rotated_address_is_refused_with_550(env: Env) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        env.send(message(), to=["p-aaaaaaaaaaaaaaaaaaaaaaaa@plainrun.localhost"])
    assert [code for code, _ in refused.value.recipients.values()] == [550]
    old = env.address()
    r = env.call("POST", f"/v2/processes/{env.process_id}/email/rotate", params={"stage": "Published"})
    assert r.status_code == 200 and r.json()["address"] != old
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        env.send(message(), to=[old])
    assert [code for code, _ in refused.value.recipients.values()] == [550]
    env.send(message())  # the new address works
    assert len(env.runs()) == 1


def test_a_sender_not_allowed_is_refused_with_550(env: Env) -> None:
    r = env.call(
        "PUT",
        f"/v2/processes/{env.process_id}/email/permissions",
        json={"mode": "restricted", "senders": ["Boss@Acme.example", "@partner.example"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["permissions"] == {
        "mode": "restricted",
        "senders": ["boss@acme.example", "@partner.example"],
    }
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        env.send(message(), sender="mallory@evil.example")
    assert [code for code, _ in refused.value.recipients.values()] == [550]
    # where senders are checked, the From: header names the envelope sender (one identity)
    env.send(message(sender="Boss <boss@acme.example>"), sender="boss@acme.example")
    env.send(message(sender="anyone@partner.example"), sender="anyone@partner.example")
    assert len(env.runs()) == 2
    # members: the agent's list
    assert env.call(
        "PUT", f"/v2/processes/{env.process_id}/email/permissions", json={"mode": "members"}
    ).is_success
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        env.send(message(sender="boss@acme.example"), sender="boss@acme.example")
    r = env.call("PUT", f"/v2/agents/{env.agent_id}/email/members", json={"senders": ["boss@acme.example"]})
    assert r.json() == {"agent_id": env.agent_id, "senders": ["boss@acme.example"]}
    env.send(message(sender="boss@acme.example"), sender="boss@acme.example")
    assert len(env.runs()) == 3


def test_a_message_over_the_size_limit_is_refused_with_552(env: Env) -> None:
    big = message(body=("x" * 70 + "\n") * (MAX_BYTES // 70 + 10))
    with pytest.raises(smtplib.SMTPSenderRefused) as declared:  # SIZE declared at MAIL FROM
        env.send(big)
    assert declared.value.smtp_code == 552
    with smtplib.SMTP(env.smtp.host, env.smtp.port, timeout=30) as client:  # not declared: at DATA
        client.ehlo()
        assert client.mail("ap@acme.example")[0] == 250
        assert client.rcpt(env.address())[0] == 250
        assert client.data(big.as_string())[0] == 552
    assert env.runs() == []


def test_addresses_in_the_api_and_another_agents_key_sees_nothing(env: Env) -> None:
    r = env.call("GET", f"/v2/processes/{env.process_id}/email")
    body = r.json()
    assert [a["stage"] for a in body["addresses"]] == ["Draft", "Published"]
    assert all(a["address"].endswith("@plainrun.localhost") for a in body["addresses"])
    assert body["permissions"] == {"mode": "anyone", "senders": []}
    assert env.call("GET", f"/v2/processes/{env.process_id}/email").json() == body  # stable
    for method, path, kw in [
        ("GET", f"/v2/processes/{env.process_id}/email", {}),
        ("POST", f"/v2/processes/{env.process_id}/email/rotate?stage=Draft", {}),
        ("PUT", f"/v2/processes/{env.process_id}/email/permissions", {"json": {"mode": "anyone"}}),
        ("PUT", f"/v2/agents/{env.agent_id}/email/members", {"json": {"senders": []}}),
    ]:
        r = env.call(method, path, key=env.other_key, **kw)
        assert r.status_code == 404, (path, r.text)
        assert set(r.json()) == {"status_code", "message", "details"}
    r = env.call("PUT", f"/v2/processes/{env.process_id}/email/permissions", json={"mode": "nobody"})
    assert r.status_code == 400 and set(r.json()) == {"status_code", "message", "details"}
    r = env.call(
        "PUT",
        f"/v2/processes/{env.process_id}/email/permissions",
        json={"mode": "restricted", "senders": ["x"]},
    )
    assert r.status_code == 400
    assert env.call("GET", "/v2/processes/" + "z" * 25 + "/email").status_code == 404


def test_the_same_message_delivered_to_many_receivers_at_once_starts_one_run(env: Env) -> None:
    data = message(message_id="<race@acme.example>").as_bytes()
    address = env.address()

    def deliver(_: int) -> tuple[str, ...] | str:
        try:
            return tuple(env.services.mail.receive(data, "ap@acme.example", [address]))
        except TryLater:  # another receiver holds the claim and has not written the run yet: 451
            return "later"

    with ThreadPoolExecutor(6) as pool:
        results = set(pool.map(deliver, range(12)))
    (run,) = env.runs()
    assert results <= {(run.id,), "later"} and (run.id,) in results
