"""E-mail to a process: its addresses, who may send to them, and a message as the facts a process
reads as ``the email``.

Every process has one address per stage, ``p-<token>@<mail_domain>``; the token (120 random bits)
names the process and the stage, and rotating it revokes the old address at once. Who may send is
set per process: ``anyone`` (the default), ``members`` (the agent's members, one list shared by all
its processes) or ``restricted`` (the process's own list). A sender entry is an address
(``ap@acme.example``) or a whole domain (``@acme.example``), compared without regard to case.

``parse(data)`` reads a raw message (stdlib ``email``, the default policy). Its facts are stored as
JSON beside the run and turned back into the interpreter's values when the run executes.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
import secrets
from base64 import b32encode
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from typing import Any

from plainrun.errors import InvalidInput

#: The longest Message-ID kept as it is; a longer one is replaced by its hash (runs keep 255).
MAX_MESSAGE_ID = 255
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)

MODES = ("anyone", "members", "restricted")
MAX_SENDERS = 1000
_SENDER = re.compile(r"^([^@\s<>]+)?@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class MailAddress:
    """An address of a process for one stage; a revoked one no longer receives."""

    token: str
    process_id: str
    stage: str
    agent_id: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming a message for an address: ``won``, or the run it already started."""

    won: bool
    id: str
    run_id: str | None


def new_token() -> str:
    """24 characters of [a-z2-7]: 120 random bits, safe in the local part of an address."""
    return b32encode(secrets.token_bytes(15)).decode().lower()


def normalize_senders(senders: Sequence[str]) -> list[str]:
    """Sender entries, lowercased and checked: ``name@domain`` or ``@domain``."""
    if len(senders) > MAX_SENDERS:
        raise InvalidInput(f"A list takes at most {MAX_SENDERS} senders.")
    out: list[str] = []
    for entry in senders:
        value = entry.strip().lower() if isinstance(entry, str) else ""
        if len(value) > 254 or not _SENDER.match(value):
            raise InvalidInput(
                "A sender is an e-mail address or @domain.", details=[("sender", str(entry)[:254])]
            )
        if value not in out:
            out.append(value)
    return out


def sender_matches(sender: str, entries: Sequence[str]) -> bool:
    sender = sender.strip().lower()
    if "@" not in sender:
        return False
    domain = "@" + sender.rsplit("@", 1)[1]
    return sender in entries or domain in entries


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class ParsedEmail:
    message_id: str
    subject: str
    sender: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)

    def facts(self, attachments: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON form of ``the email``: the interpreter's keys plus date, recipients and HTML body.

        ``attachments`` are the stored files: ``{"id", "name", "size", "content_type"}`` each.
        """
        return {
            "subject": self.subject,
            "sender": self.sender,
            "to": ", ".join(self.to),
            "recipients": [*self.to, *self.cc],
            "date": self.date.isoformat() if self.date else None,
            "body": self.text,
            "html body": self.html,
            "attachments": attachments,
            "message id": self.message_id,
        }


def _addresses(message: EmailMessage, name: str) -> list[str]:
    header = message.get(name)
    if header is None:
        return []
    try:
        groups = header.addresses
    except AttributeError:  # an unparsable header is kept as text
        return [str(header)]
    return [a.addr_spec for a in groups if isinstance(a, Address) and a.addr_spec]


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("date")
    value = getattr(header, "datetime", None) if header is not None else None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _message_id(message: EmailMessage, data: bytes) -> str:
    """The Message-ID; a message without one is named by the hash of its bytes (a resend dedupes)."""
    value = " ".join(str(message.get("message-id") or "").split())
    if not value:
        return f"<{hashlib.sha256(data).hexdigest()}@plainrun.invalid>"
    if len(value) > MAX_MESSAGE_ID:
        return f"<{hashlib.sha256(value.encode()).hexdigest()}@plainrun.hashed>"
    return value


def html_to_text(markup: str) -> str:
    text = _TAGS.sub(" ", markup)
    return "\n".join(" ".join(line.split()) for line in html.unescape(text).splitlines() if line.strip())


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    if part is None or part.get_content_type() != f"text/{kind}":
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or wrong charset: the bytes as well as they go
        content = _payload(part).decode("utf-8", "replace")
    return content if isinstance(content, str) else ""


def _payload(part: MIMEPart) -> bytes:
    """A non-multipart part's bytes, transfer encoding undone."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for n, part in enumerate(message.iter_attachments(), start=1):
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        name = part.get_filename() or f"attachment-{n}{mimetypes.guess_extension(content_type) or ''}"
        found.append(Attachment(name=name, content_type=content_type, data=_payload(part)))
    return found


def parse(data: bytes, *, envelope_sender: str = "") -> ParsedEmail:
    # SMTP carries lines ended by CRLF; the parser keeps them in bodies, a process wants plain lines.
    message = BytesParser(policy=policy.default).parsebytes(data.replace(b"\r\n", b"\n"))
    assert isinstance(message, EmailMessage)
    text = _body(message, "plain")
    markup = _body(message, "html")
    senders = _addresses(message, "from")
    return ParsedEmail(
        message_id=_message_id(message, data),
        subject=" ".join(str(message.get("subject") or "").split()),
        sender=senders[0] if senders else envelope_sender,
        to=_addresses(message, "to"),
        cc=_addresses(message, "cc"),
        date=_date(message),
        text=text or (html_to_text(markup) if markup else ""),
        html=markup,
        attachments=_attachments(message),
    )
