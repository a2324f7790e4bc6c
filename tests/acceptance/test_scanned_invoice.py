"""The scanned-invoice example end to end: e-mail in, OCR, two questions answered, an Excel report out.

Only public surfaces: the ``plainrun`` CLI pushes the example, SMTP delivers the invoice to the
process's own address, the HTTP API answers the questions, and the report arrives by SMTP at a
receiver of the test's own, where openpyxl reads it.
"""

from __future__ import annotations

import io
import smtplib
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from aiosmtpd.controller import Controller

from tests.acceptance.conftest import LiveServer, free_port, start_server, stop_server
from tests.unit.books import drawn

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "scanned_invoice" / "take in a scanned invoice.process"
)
ITEMS = [
    ("Network switch", "2", "1,950.00", "3,900.00"),
    ("Installation", "16", "95.00", "1,520.00"),
    ("Patch cables", "40", "4.50", "180.00"),
]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """Where the e-mail book's messages go: an SMTP receiver of the test's own."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("PLAINRUN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PLAINRUN_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("PLAINRUN_SMTP_SENDER", "invoices@plainrun.test")
    yield inbox
    controller.stop()


@pytest.fixture
def server(inbox: Inbox, tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path)
    yield live
    stop_server(live)


def wait_for(api: httpx.Client, run_id: str, status: str, besides: str = "") -> dict[str, Any]:
    """The run once it has ``status`` (and, waiting, a question other than ``besides``)."""
    deadline = time.monotonic() + 120
    while True:
        run: dict[str, Any] = api.get(f"/runs/{run_id}").json()
        if run["status"] == status and (not besides or (run.get("error") or {}).get("question") != besides):
            return run
        assert run["status"] in ("Created", "Running", "Exception"), run
        assert time.monotonic() < deadline, run
        time.sleep(0.2)


def scanned_invoice() -> bytes:
    page = drawn.invoice(
        "Quayside Networks Ltd",
        [("Invoice Number:", "INV-3107"), ("Invoice Date:", "03/11/2026"), ("Due Date:", "03/12/2026")],
        ITEMS,
        [("Subtotal", "5,600.00"), ("Total Due", "£5,650.00")],  # the total does not match its items
    )
    return drawn.scanned(drawn.pdf(page), dpi=200, angle=0.7)


@pytest.mark.slow
def test_a_scanned_invoice_by_email_is_checked_approved_and_answered_with_a_report(
    server: LiveServer, inbox: Inbox
) -> None:
    agent_id = server.demo["AGENT_ID"]
    pushed = server.plainrun("processes", "push", str(EXAMPLE), "--agent", agent_id, "--publish")
    process_id = pushed.stdout.strip().splitlines()[-1]
    with httpx.Client(base_url=f"{server.url}/v2", headers={"x-api-key": server.demo["PLAINRUN_KEY"]}) as api:
        run_id = send_invoice(api, server, process_id, agent_id)
        answer_and_check(api, run_id, inbox)


def send_invoice(api: httpx.Client, server: LiveServer, process_id: str, agent_id: str) -> str:
    address = next(
        a["address"]
        for a in api.get(f"/processes/{process_id}/email").json()["addresses"]
        if a["stage"] == "Published"
    )
    message = EmailMessage()
    message["From"] = "billing@quayside.example"
    message["To"] = address
    message["Subject"] = "Invoice INV-3107"
    message.set_content("Please find our invoice attached.")
    message.add_attachment(scanned_invoice(), maintype="application", subtype="pdf", filename="scan.pdf")
    with smtplib.SMTP("127.0.0.1", int(server.env["PLAINRUN_SMTP_LISTEN_PORT"]), timeout=30) as smtp:
        smtp.send_message(message)

    deadline = time.monotonic() + 60
    while not (
        runs := api.get("/runs", params={"process_id": process_id, "agent_id": agent_id}).json()["items"]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return str(runs[0]["id"])


def answer_and_check(api: httpx.Client, run_id: str, inbox: Inbox) -> None:
    disagree = wait_for(api, run_id, "Exception")["error"]
    assert disagree["question"] == (
        "The line items of invoice INV-3107 add up to £5,600.00, but its total is £5,650.00. Which is right?"
    )
    assert disagree["choices"] == ["the total", "the line items"]
    answer = api.post(f"/runs/{run_id}/guidance", json={"action": "value", "value": "the line items"})
    assert answer.status_code == 200, answer.text

    approval = wait_for(api, run_id, "Exception", besides=disagree["question"])["error"]
    assert approval["question"] == "Approve invoice INV-3107 from Quayside Networks Ltd for £5,600.00?"
    assert (
        api.post(f"/runs/{run_id}/guidance", json={"action": "value", "value": "approve"}).status_code == 200
    )

    done = wait_for(api, run_id, "Succeeded")
    outputs = {o["name"]: o["value"] for o in done["outputs"]}
    assert outputs["invoice number"] == "INV-3107" and outputs["vendor"] == "Quayside Networks Ltd"
    assert outputs["total"] == 5600 and outputs["decision"] == "approved"

    deadline = time.monotonic() + 30
    while not inbox.messages:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    reply = inbox.messages[0]
    assert reply["To"] == "billing@quayside.example"
    assert reply["Subject"] == "Invoice INV-3107: approved"
    (attachment,) = list(reply.iter_attachments())
    assert attachment.get_filename() == "invoice INV-3107.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(attachment.get_payload(decode=True)))
    assert book.sheetnames == ["summary", "line items"]
    summary = dict(zip(*book["summary"].iter_rows(values_only=True), strict=True))
    assert summary["invoice number"] == "INV-3107" and summary["decision"] == "approved"
    assert summary["total"] == 5600 and summary["date"].date().isoformat() == "2026-11-03"
    assert 50 < summary["ocr confidence"] <= 100
    rows = list(book["line items"].iter_rows(values_only=True))
    assert rows[0] == ("description", "quantity", "unit price", "amount")
    assert [(r[0], r[1], float(r[3])) for r in rows[1:]] == [
        ("Network switch", 2, 3900.0),
        ("Installation", 16, 1520.0),
        ("Patch cables", 40, 180.0),
    ]
    report = api.get(f"/files/{outputs['report']}").json()
    assert report["name"] == "invoice INV-3107.xlsx"
