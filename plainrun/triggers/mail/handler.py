"""The aiosmtpd handler: refuse what cannot be delivered at RCPT TO, start runs at DATA.

Replies:

- ``550 5.1.1`` at RCPT TO: no such process address (unknown, revoked, or another domain);
- ``550 5.7.1`` at RCPT TO: the sender may not send to this process; at DATA: its From: header does
  not name the envelope sender (where senders are checked), or it is automatic mail
  (Auto-Submitted, a delivery report, the null sender);
- ``554 5.4.6``: a mail loop, the message passed through ``max_mail_hops`` processes' mail;
- ``552 5.3.4``: the message is over ``max_email_bytes`` (also refused by the server itself as the
  data arrives, and at MAIL FROM when the client declares a larger SIZE), or its body is longer
  than the text a run holds, or it carries more attachments than a run takes;
- ``451 4.7.0``: the process received ``mail_runs_per_minute`` messages this minute; retry later;
- ``451 4.3.0``: the database is unavailable, or another receiver is taking the same message in;
  the sending server retries later;
- ``554 5.6.0``: the message cannot start a run (for example, the process has no published version).

The service is synchronous (it reads and writes the database), so it is called in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from plainrun.domain.mail import AutoSubmitted, MailLoop
from plainrun.errors import NotFound, PlainrunError, StoreError, TooLarge
from plainrun.services.mail import MailService, OverRate, SenderNotAllowed, TryLater

log = logging.getLogger("plainrun.mail")


def reply(exc: PlainrunError) -> str:
    """The SMTP reply for an error of the service."""
    if isinstance(exc, SenderNotAllowed | AutoSubmitted):
        return f"550 5.7.1 {exc.message}"[:500]
    if isinstance(exc, NotFound):
        return "550 5.1.1 No such process address"
    if isinstance(exc, MailLoop):
        return f"554 5.4.6 {exc.message}"
    if isinstance(exc, TooLarge):
        return f"552 5.3.4 {exc.message}"
    if isinstance(exc, OverRate):
        return f"451 4.7.0 {exc.message}"
    if isinstance(exc, TryLater):
        return f"451 4.3.0 {exc.message}"
    if isinstance(exc, StoreError):
        return "451 4.3.0 Temporarily unable to accept the message; try again later"
    return f"554 5.6.0 {exc.message}"[:500]


class MailHandler:
    def __init__(self, mail: MailService):
        self.mail = mail

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            await asyncio.to_thread(self.mail.accept_recipient, address, envelope.mail_from or "")
        except PlainrunError as exc:
            log.info(
                "recipient refused", extra={"action": "mail_refused", "rcpt": address, "why": exc.message}
            )
            return reply(exc)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if len(data) > self.mail.max_bytes:
            return reply(TooLarge(f"An e-mail may be at most {self.mail.max_bytes} bytes."))
        try:
            run_ids = await asyncio.to_thread(
                self.mail.receive, data, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
        except PlainrunError as exc:
            log.info("message refused", extra={"action": "mail_refused", "why": exc.message})
            return reply(exc)
        except Exception:
            log.exception("message failed", extra={"action": "mail_failed"})
            return "451 4.3.0 Temporarily unable to accept the message; try again later"
        log.info("message accepted", extra={"action": "mail_accepted", "runs": run_ids})
        return "250 2.0.0 OK: " + " ".join(run_ids[:10])
