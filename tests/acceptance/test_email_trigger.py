"""E-mail to a process's own address starts a run whose outputs read the attachments."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.acceptance.conftest import LiveServer

INTAKE = """to take in an emailed invoice
  the documents are the email's attachments
  process each document as follows
    if the document's name ends with ".csv" then
      read the csv rows of the document
      the output lines is the number of the above
    else
      extract the text of the document
      the output pdf text is the above
  the output subject is the email's subject
  the output sender is the email's sender
  the output attachments is the number of the documents
"""


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose page shows ``text`` in Helvetica (assembled by hand, offsets and all)."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_an_email_with_a_pdf_and_a_csv_runs_the_process_on_both(
    live_server: LiveServer, tmp_path: Path
) -> None:
    agent_id = live_server.demo["AGENT_ID"]
    source = tmp_path / "intake.process"
    source.write_text(INTAKE)
    pushed = live_server.plainrun("processes", "push", str(source), "--agent", agent_id, "--publish")
    process_id = pushed.stdout.strip().splitlines()[-1]
    api = httpx.Client(
        base_url=f"{live_server.url}/v2", headers={"x-api-key": live_server.demo["PLAINRUN_KEY"]}
    )
    addresses = {
        a["stage"]: a["address"] for a in api.get(f"/processes/{process_id}/email").json()["addresses"]
    }

    message = EmailMessage()
    message["From"] = "ap@acme.example"
    message["To"] = addresses["Published"]
    message["Subject"] = "Invoice A-17"
    message["Message-ID"] = "<a17@acme.example>"
    message.set_content("Please find the invoice attached.")
    message.add_attachment(
        pdf_with_text("Invoice number: A-17"), maintype="application", subtype="pdf", filename="a17.pdf"
    )
    message.add_attachment(
        b"item,amount\npens,10\npaper,20\n", maintype="text", subtype="csv", filename="lines.csv"
    )
    port = int(live_server.env["PLAINRUN_SMTP_LISTEN_PORT"])
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)
        smtp.send_message(message)  # the same Message-ID again starts no second run

    query = {"process_id": process_id, "agent_id": agent_id}
    deadline = time.monotonic() + 30
    while True:
        runs = api.get("/runs", params=query).json()["items"]
        if runs and runs[0]["status"] not in ("Created", "Running"):
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)
    assert len(runs) == 1
    run = runs[0]
    assert run["status"] == "Succeeded" and run["trigger"] == "email", run
    outputs = {o["name"]: o["value"] for o in run["outputs"]}
    assert outputs["pdf text"].strip() == "Invoice number: A-17"
    assert outputs["lines"] == 2
    assert outputs["subject"] == "Invoice A-17" and outputs["attachments"] == 2
    assert "ap@acme.example" in outputs["sender"]
    names = sorted(api.get(f"/files/{f}").json()["name"] for f in run["file_ids"])
    assert names == ["a17.pdf", "lines.csv"]
    api.close()
