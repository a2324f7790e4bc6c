"""E-mail to a process: its addresses, who may send to them, and mail that starts runs.

Every process has one address per stage, ``p-<token>@<mail_domain>``; the token (120 random bits)
names the process and the stage, and rotating it revokes the old address at once.

Who may send is set per process (the envelope sender, MAIL FROM, is checked):

- ``anyone`` (the default): whoever knows the address;
- ``members``: the agent's members, one list of senders shared by all the agent's processes;
- ``restricted``: the process's own list of senders.

A sender entry is an address (``ap@acme.example``) or a whole domain (``@acme.example``), compared
without regard to case.

A message accepted for an address starts one run of that stage with trigger ``email`` and the
Message-ID as its ``trigger_ref``; its attachments are stored as files in the run's ``file_ids``,
and the e-mail's facts (subject, sender, recipients, date, text and HTML body, attachments,
Message-ID) are kept beside the run for ``the email``. The same Message-ID to the same address
starts one run, however often and to however many receivers it is delivered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plainrun.blobs import BlobStorage
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, NotFound, TooLarge
from plainrun.mail.message import ParsedEmail, parse
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.files import FileService
from plainrun.services.processes import ProcessService
from plainrun.services.runs import MAX_FILES, RunService
from plainrun.settings import Settings
from plainrun.store import mail as store_mail
from plainrun.store.mail import MailAddress
from plainrun.store.sql import SqlStore

MODES = ("anyone", "members", "restricted")
MAX_SENDERS = 1000
_SENDER = re.compile(r"^([^@\s<>]+)?@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")
_LOCAL = re.compile(r"^p-([a-z2-7]{24})$")


class SenderNotAllowed(InvalidInput):
    """The sender may not send mail to this address."""


@dataclass(frozen=True, slots=True)
class StageAddress:
    stage: Stage
    address: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MailSettings:
    process_id: str
    agent_id: str
    addresses: list[StageAddress]
    mode: str
    #: The process's own list (used by ``restricted``).
    senders: list[str]
    #: The agent's members (used by ``members``).
    members: list[str]


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


class MailService:
    def __init__(
        self,
        store: SqlStore,
        processes: ProcessService,
        runs: RunService,
        files: FileService,
        *,
        domain: str,
        max_bytes: int,
    ):
        self.store = store
        self.processes = processes
        self.runs = runs
        self.files = files
        self.domain = domain.lower()
        self.max_bytes = max_bytes

    @classmethod
    def build(
        cls,
        settings: Settings,
        store: SqlStore,
        processes: ProcessService,
        runs: RunService,
        blobs: BlobStorage,
        *,
        secret: bytes,
    ) -> MailService:
        """The service as ``build_services`` makes it; attachments are bounded by the e-mail's size."""
        files = FileService(
            store,
            blobs,
            secret=secret,
            base_url=settings.base_url,
            max_bytes=settings.max_email_bytes,
            ttl_s=settings.upload_ttl_s,
        )
        return cls(
            store, processes, runs, files, domain=settings.mail_domain, max_bytes=settings.max_email_bytes
        )

    # --- addresses and permissions ------------------------------------------------------

    def address(self, token: str) -> str:
        return f"p-{token}@{self.domain}"

    def settings(self, principal: Principal, process_id: str) -> MailSettings:
        """The process's addresses for Draft and Published (made on first use) and who may send."""
        process = self.processes.get(principal, process_id)
        addresses = []
        for stage in Stage:
            found = store_mail.active_address(
                self.store, process_id=process.id, stage=stage.value, agent_id=process.agent_id
            )
            addresses.append(StageAddress(stage, self.address(found.token), found.created_at))
        mode, senders = store_mail.get_permissions(self.store, process.id) or ("anyone", [])
        return MailSettings(
            process_id=process.id,
            agent_id=process.agent_id,
            addresses=addresses,
            mode=mode,
            senders=senders,
            members=store_mail.get_members(self.store, process.agent_id),
        )

    def rotate(self, principal: Principal, process_id: str, stage: Stage) -> StageAddress:
        """A new address for the stage; the old one is refused from now on."""
        process = self.processes.get(principal, process_id)
        found = store_mail.rotate_address(
            self.store, process_id=process.id, stage=stage.value, agent_id=process.agent_id
        )
        return StageAddress(stage, self.address(found.token), found.created_at)

    def set_permissions(
        self, principal: Principal, process_id: str, *, mode: str, senders: Sequence[str] = ()
    ) -> MailSettings:
        process = self.processes.get(principal, process_id)
        if mode not in MODES:
            raise InvalidInput("The mode is anyone, members or restricted.", details=[("mode", str(mode))])
        store_mail.set_permissions(self.store, process.id, mode=mode, senders=normalize_senders(senders))
        return self.settings(principal, process_id)

    def members(self, principal: Principal, agent_id: str) -> list[str]:
        self.processes.agent(principal, agent_id)
        return store_mail.get_members(self.store, agent_id)

    def set_members(self, principal: Principal, agent_id: str, senders: Sequence[str]) -> list[str]:
        """The agent's members: the senders its ``members`` processes accept."""
        self.processes.agent(principal, agent_id)
        members = normalize_senders(senders)
        store_mail.set_members(self.store, agent_id, members)
        return members

    # --- receiving -------------------------------------------------------------------------

    def resolve(self, recipient: str) -> MailAddress:
        """The active address a recipient names; an unknown, revoked or foreign one is NotFound."""
        local, _, domain = recipient.strip().strip("<>").lower().rpartition("@")
        match = _LOCAL.match(local)
        found = (
            store_mail.find_address(self.store, match.group(1)) if match and domain == self.domain else None
        )
        if found is None:
            raise NotFound("No such process address.", details=[("recipient", recipient[:254])])
        return found

    def check_sender(self, address: MailAddress, sender: str) -> None:
        mode, senders = store_mail.get_permissions(self.store, address.process_id) or ("anyone", [])
        if mode == "anyone":
            return
        allowed = senders if mode == "restricted" else store_mail.get_members(self.store, address.agent_id)
        if not sender_matches(sender, allowed):
            raise SenderNotAllowed(details=[("sender", sender[:254])])

    def accept_recipient(self, recipient: str, sender: str) -> MailAddress:
        """What the SMTP server asks at RCPT TO: the address, if it exists and the sender may use it."""
        address = self.resolve(recipient)
        self.check_sender(address, sender)
        return address

    def receive(self, data: bytes, mail_from: str, rcpt_tos: Sequence[str]) -> list[str]:
        """Start one run per recipient address; returns the run ids (a repeat returns the first run's)."""
        if len(data) > self.max_bytes:
            raise TooLarge(f"An e-mail may be at most {self.max_bytes} bytes.")
        addresses: dict[str, MailAddress] = {}
        for recipient in rcpt_tos:
            address = self.accept_recipient(recipient, mail_from)
            addresses.setdefault(address.token, address)
        if not addresses:
            raise InvalidInput("The e-mail has no recipient.")
        email = parse(data, envelope_sender=mail_from)
        if len(email.attachments) > MAX_FILES:
            raise TooLarge(f"An e-mail may carry at most {MAX_FILES} attachments.")
        stored: dict[str, list[dict[str, Any]]] = {}  # per agent: attachments are stored once
        run_ids = []
        for address in addresses.values():
            run_id = self._receive_at(address, email, stored)
            if run_id is not None:
                run_ids.append(run_id)
        return run_ids

    def _receive_at(
        self, address: MailAddress, email: ParsedEmail, stored: dict[str, list[dict[str, Any]]]
    ) -> str | None:
        seen = store_mail.find_message(self.store, email.message_id, address.token)
        if seen is not None and seen.run_id is not None:
            return seen.run_id
        if address.agent_id not in stored:
            stored[address.agent_id] = [
                self._store_attachment(address.agent_id, a) for a in email.attachments
            ]
        attachments = stored[address.agent_id]
        claim = store_mail.claim_message(
            self.store, message_id=email.message_id, address=address, facts=email.facts(attachments)
        )
        if not claim.won:
            return claim.run_id
        try:
            run = self.runs.start(
                SYSTEM,
                agent_id=address.agent_id,
                process_id=address.process_id,
                stage=Stage(address.stage),
                name=(email.subject or f"e-mail from {email.sender or 'unknown sender'}")[:100],
                file_ids=[a["id"] for a in attachments],
                trigger=Trigger.EMAIL,
                trigger_ref=email.message_id,
            )
        except BaseException:
            store_mail.release_claim(self.store, claim.id)
            raise
        store_mail.record_run(self.store, claim.id, run.id)
        return run.id

    def _store_attachment(self, agent_id: str, attachment: Any) -> dict[str, Any]:
        record = self.files.put(
            SYSTEM,
            agent_id=agent_id,
            name=attachment.name,
            content_type=attachment.content_type,
            data=attachment.data,
        )
        return {
            "id": record.id,
            "name": record.name,
            "size": record.size,
            "content_type": record.content_type,
        }
