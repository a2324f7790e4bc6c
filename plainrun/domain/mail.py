"""E-mail to a process: its addresses, who may send to them, and a message as the facts a process
reads as ``the email``.

Every process has one address per stage, ``p-<token>@<mail_domain>``; the token (120 random bits)
names the process and the stage, and rotating it revokes the old address at once. Who may send is
set per process: ``anyone`` (the default), ``members`` (the agent's members, one list shared by all
its processes) or ``restricted`` (the process's own list). A sender entry is an address
(``ap@acme.example``) or a whole domain (``@acme.example``), compared without regard to case.

``parse(data)`` reads a raw message (stdlib ``email``, the default policy): a ``ParsedEmail``, or a
refusal (``Refused``, ``TooLarge``), never another exception. Headers may hold UTF-8 (RFC 6532,
SMTPUTF8); every text it keeps is storable. Its facts are stored as JSON beside the run and turned
back into the interpreter's values when the run executes.

Mail loops: the mail a process sends carries ``Auto-Submitted: auto-generated`` (RFC 3834) and
``X-Plainrun-Hops``, the number of processes' mail it passed through; :func:`check_automatic` refuses
automatic messages and those past the hop bound, so a process mailing its own address stops at once.

The sender identity is one (:attr:`ParsedEmail.sender`): the From: header's address, or the envelope
sender (MAIL FROM) when there is no From:. :attr:`ParsedEmail.agrees` tells whether the From: header
agrees with the envelope; a process whose senders are checked accepts only mail where it does, so
the identity the permissions check is the one the process reads.
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
from enum import StrEnum
from typing import Any

from plainrun.domain.files import clean_content_type, clean_filename
from plainrun.domain.storable import clean_text
from plainrun.errors import InvalidInput, TooLarge

#: The longest Message-ID kept as it is; a longer one is replaced by its hash (runs keep 255).
MAX_MESSAGE_ID = 255
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)

MODES = ("anyone", "members", "restricted")
MAX_SENDERS = 1000
#: A domain's labels may be internationalised (SMTPUTF8 mail names them in UTF-8).
_SENDER = re.compile(r"^([^@\s<>]+)?@[^\W_](?:[\w.-]*[^\W_])?$")

#: Headers of the mail the service sends (``plainrun.books.mail``), read back here to stop loops.
AUTO_SUBMITTED = "Auto-Submitted"
HOPS = "X-Plainrun-Hops"
_HOPS_VALUE = re.compile(r"\s*(\d{1,9})\s*")


#: What the standard library's header and MIME readers raise on some malformed input (their own
#: faults, such as an IndexError on an empty address): such a header is kept as it came, and a
#: message whose structure cannot be read is refused.
_PARSER_FAULTS = (LookupError, AttributeError, TypeError, ValueError)


class Refused(InvalidInput):
    """The message cannot be read."""


class AutoSubmitted(Refused):
    """Automatic messages (Auto-Submitted, delivery reports) do not start runs."""


class MailLoop(Refused):
    """The message has passed through too many processes' mail: a mail loop."""


@dataclass(frozen=True, slots=True)
class MailAddress:
    """An address of a process for one stage; a revoked one no longer receives."""

    token: str
    process_id: str
    stage: str
    agent_id: str
    created_at: datetime
    revoked_at: datetime | None


class ClaimState(StrEnum):
    """What claiming a message for an address found."""

    #: This receiver holds the claim: it stores the attachments and starts the run.
    WON = "won"
    #: The message started its run before (a repeat delivery): ``run_id``.
    STARTED = "started"
    #: Another receiver holds a fresh claim and has not started the run yet: try again later.
    RECEIVING = "receiving"
    #: The process received its bound of messages this minute: try again later.
    OVER_RATE = "over_rate"


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming a message for an address; ``id`` names a claim held (WON)."""

    state: ClaimState
    id: str | None = None
    run_id: str | None = None

    @property
    def won(self) -> bool:
        return self.state is ClaimState.WON


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
    #: The From: header's address ("" when there is none).
    from_address: str
    #: The envelope sender (MAIL FROM; "" for the null sender of a delivery report).
    envelope_sender: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)
    #: The Auto-Submitted header's keyword, lowercased: ``no`` (a person sent it) when absent.
    auto_submitted: str = "no"
    #: Whether it is a delivery or read report (``multipart/report``).
    report: bool = False
    #: How many processes' mail it passed through (its X-Plainrun-Hops header).
    hops: int = 0

    @property
    def sender(self) -> str:
        """The one sender identity: the From: header's address, else the envelope sender."""
        return self.from_address or self.envelope_sender

    @property
    def agrees(self) -> bool:
        """Whether the From: header names the envelope sender (or there is no From: header)."""
        return not self.from_address or self.from_address.casefold() == self.envelope_sender.casefold()

    def facts(self, attachments: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON form of ``the email``: the interpreter's keys plus date, recipients and HTML body.

        ``attachments`` are the stored files: ``{"id", "name", "size", "content_type"}`` each.
        """
        return {
            "subject": self.subject,
            "sender": self.sender,
            "envelope sender": self.envelope_sender,
            "to": ", ".join(self.to),
            "recipients": [*self.to, *self.cc],
            "date": self.date.isoformat() if self.date else None,
            "body": self.text,
            "html body": self.html,
            "attachments": attachments,
            "message id": self.message_id,
            "hops": self.hops,
        }


def check_automatic(email: ParsedEmail, *, max_hops: int) -> None:
    """Refuse what no person sent (RFC 3834: Auto-Submitted other than ``no``, a delivery report, the
    null envelope sender) and a message that passed through ``max_hops`` processes' mail already."""
    if email.auto_submitted != "no" or email.report or not email.envelope_sender:
        raise AutoSubmitted()
    if email.hops >= max_hops:
        raise MailLoop(
            f"The message has passed through {email.hops} processes' mail (at most {max_hops - 1}): "
            "a mail loop."
        )


def _raw(message: MIMEPart, name: str) -> str:
    """A header's value as it came, unparsed (for a value the header parser fails on)."""
    return next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), "")


def _header(message: EmailMessage, name: str) -> str:
    """A header's text on one line, storable (UTF-8 headers are read as UTF-8)."""
    try:
        value = str(message.get(name) or "")
    except _PARSER_FAULTS:
        value = _raw(message, name)
    return clean_text(" ".join(value.split()))


def _addresses(message: EmailMessage, name: str) -> list[str]:
    try:
        header = message.get(name)
        if header is None:
            return []
        groups = header.addresses
    except _PARSER_FAULTS:  # a header the parser cannot read is kept as text
        return [_header(message, name)]
    return [clean_text(a.addr_spec) for a in groups if isinstance(a, Address) and a.addr_spec]


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("date")
    value = getattr(header, "datetime", None) if header is not None else None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _message_id(message: EmailMessage, data: bytes) -> str:
    """The Message-ID; a message without one is named by the hash of its bytes (a resend dedupes)."""
    value = _header(message, "message-id")
    if not value:
        return f"<{hashlib.sha256(data).hexdigest()}@plainrun.invalid>"
    if len(value) > MAX_MESSAGE_ID:
        return f"<{hashlib.sha256(value.encode()).hexdigest()}@plainrun.hashed>"
    return value


def _hops(message: EmailMessage) -> int:
    found = _HOPS_VALUE.fullmatch(_header(message, HOPS))
    return int(found.group(1)) if found else 0


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
    return clean_text(content) if isinstance(content, str) else ""


def _payload(part: MIMEPart) -> bytes:
    """A non-multipart part's bytes, transfer encoding undone."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for n, part in enumerate(message.iter_attachments(), start=1):
        if part.is_multipart():
            continue
        content_type = clean_content_type(part.get_content_type())
        name = clean_text(part.get_filename() or "")
        name = name or f"attachment-{n}{mimetypes.guess_extension(content_type) or ''}"
        found.append(Attachment(name=clean_filename(name), content_type=content_type, data=_payload(part)))
    return found


def _read(data: bytes, envelope_sender: str) -> ParsedEmail:
    # SMTP carries lines ended by CRLF; the parser keeps them in bodies, a process wants plain lines.
    message = BytesParser(policy=policy.default).parsebytes(data.replace(b"\r\n", b"\n"))
    assert isinstance(message, EmailMessage)
    text = _body(message, "plain")
    markup = _body(message, "html")
    senders = _addresses(message, "from")
    return ParsedEmail(
        message_id=_message_id(message, data),
        subject=_header(message, "subject"),
        from_address=senders[0] if senders else "",
        envelope_sender=clean_text(envelope_sender.strip().removeprefix("<").removesuffix(">")),
        to=_addresses(message, "to"),
        cc=_addresses(message, "cc"),
        date=_date(message),
        text=text or (html_to_text(markup) if markup else ""),
        html=markup,
        attachments=_attachments(message),
        auto_submitted=_header(message, AUTO_SUBMITTED).partition(";")[0].strip().lower() or "no",
        report=message.get_content_type() == "multipart/report",
        hops=_hops(message),
    )


def parse(data: bytes, *, envelope_sender: str = "", max_text_chars: int | None = None) -> ParsedEmail:
    """A raw message as its parts. ``Refused`` when it cannot be read; ``TooLarge`` when a body is
    longer than ``max_text_chars`` (the text a run can hold), so that it is refused while the sender
    is still there to be told, not accepted and failed later."""
    try:
        email = _read(data, envelope_sender)
    except _PARSER_FAULTS as exc:  # a structure the standard library's reader fails on
        raise Refused() from exc
    if max_text_chars is not None and max(len(email.text), len(email.html)) > max_text_chars:
        raise TooLarge(
            f"The body of an e-mail may be at most {max_text_chars:,} characters (the text a run holds)."
        )
    return email
