"""E-mail: send a message through the environment's SMTP server.

send an email to "ops@example.com" where
  the subject is "Invoice {the invoice number}"
  the body is "…"
  the attachments are the file
"""

from __future__ import annotations

from typing import Any

from plainrun.language.books import procedure
from plainrun.language.environment import Environment
from plainrun.language.values import FileRef, to_text


@procedure("to send an email to a (recipient)")
def send_email(
    recipient: str,
    env: Environment,
    subject: str = "",
    body: str = "",
    attachments: Any = None,
    cc: str | None = None,
) -> str:
    """Sends the message; the result is its Message-ID."""
    import smtplib  # imported here, so that a process that sends no mail starts without it
    from email.message import EmailMessage
    from email.utils import make_msgid

    from plainrun.domain.mail import AUTO_SUBMITTED, HOPS

    message = EmailMessage()
    message["From"] = env.smtp.sender
    message["To"] = recipient
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=env.smtp.sender.rpartition("@")[2] or "localhost")
    # Mail a process sends is automatic (RFC 3834), and counts the processes it passed through: a
    # process's mail never starts a run of a process, so mailing its own address does not loop.
    message[AUTO_SUBMITTED] = "auto-generated"
    message[HOPS] = str(env.smtp.hops + 1)
    message.set_content(body)
    files = attachments if isinstance(attachments, list) else [attachments] if attachments else []
    for file in files:
        if not isinstance(file, FileRef):
            raise ValueError(f'an attachment must be a file, not "{to_text(file)[:40]}"')
        maintype, _, subtype = (file.content_type or "application/octet-stream").partition("/")
        message.add_attachment(
            env.read_file(file.id), maintype=maintype, subtype=subtype or "octet-stream", filename=file.name
        )
    smtp = env.smtp
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise ValueError(
            f"the mail server {smtp.host}:{smtp.port} refused the recipient {recipient}"
        ) from None
    except smtplib.SMTPException:
        raise ValueError(f"the mail server {smtp.host}:{smtp.port} did not accept the message") from None
    except OSError:
        raise ValueError(f"the mail server {smtp.host}:{smtp.port} could not be reached") from None
    return str(message["Message-ID"])
