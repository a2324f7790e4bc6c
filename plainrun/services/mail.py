"""E-mail to a process: its addresses, who may send to them, and mail that starts runs.

The rules of addresses and senders are the domain's (``plainrun.domain.mail``). Who may send is
checked against the envelope sender (MAIL FROM).

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

from plainrun.domain.mail import MODES, MailAddress, ParsedEmail, normalize_senders, parse, sender_matches
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, NotFound, TooLarge
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.agents import AgentService
from plainrun.services.files import FileService
from plainrun.services.processes import ProcessService
from plainrun.services.runs import MAX_FILES, RunRequest, RunService
from plainrun.store import Store

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


class MailService:
    def __init__(
        self,
        store: Store,
        agents: AgentService,
        processes: ProcessService,
        runs: RunService,
        files: FileService,
        *,
        domain: str,
        max_bytes: int,
    ):
        self.store = store
        self.agents = agents
        self.processes = processes
        self.runs = runs
        self.files = files
        self.domain = domain.lower()
        self.max_bytes = max_bytes

    # --- addresses and permissions ------------------------------------------------------

    def address(self, token: str) -> str:
        return f"p-{token}@{self.domain}"

    def settings(self, principal: Principal, process_id: str) -> MailSettings:
        """The process's addresses for Draft and Published (made on first use) and who may send."""
        process = self.processes.get(principal, process_id)
        addresses = []
        for stage in Stage:
            found = self.store.mail.active_address(
                process_id=process.id, stage=stage.value, agent_id=process.agent_id
            )
            addresses.append(StageAddress(stage, self.address(found.token), found.created_at))
        mode, senders = self.store.mail.permissions(process.id) or ("anyone", [])
        return MailSettings(
            process_id=process.id,
            agent_id=process.agent_id,
            addresses=addresses,
            mode=mode,
            senders=senders,
            members=self.store.mail.members(process.agent_id),
        )

    def rotate(self, principal: Principal, process_id: str, stage: Stage) -> StageAddress:
        """A new address for the stage; the old one is refused from now on."""
        process = self.processes.get(principal, process_id)
        found = self.store.mail.rotate_address(
            process_id=process.id, stage=stage.value, agent_id=process.agent_id
        )
        return StageAddress(stage, self.address(found.token), found.created_at)

    def set_permissions(
        self, principal: Principal, process_id: str, *, mode: str, senders: Sequence[str] = ()
    ) -> MailSettings:
        process = self.processes.get(principal, process_id)
        if mode not in MODES:
            raise InvalidInput("The mode is anyone, members or restricted.", details=[("mode", str(mode))])
        self.store.mail.set_permissions(process.id, mode=mode, senders=normalize_senders(senders))
        return self.settings(principal, process_id)

    def members(self, principal: Principal, agent_id: str) -> list[str]:
        self.agents.get(principal, agent_id)
        return self.store.mail.members(agent_id)

    def set_members(self, principal: Principal, agent_id: str, senders: Sequence[str]) -> list[str]:
        """The agent's members: the senders its ``members`` processes accept."""
        self.agents.get(principal, agent_id)
        members = normalize_senders(senders)
        self.store.mail.set_members(agent_id, members)
        return members

    # --- receiving -------------------------------------------------------------------------

    def resolve(self, recipient: str) -> MailAddress:
        """The active address a recipient names; an unknown, revoked or foreign one is NotFound."""
        local, _, domain = recipient.strip().strip("<>").lower().rpartition("@")
        match = _LOCAL.match(local)
        found = self.store.mail.address(match.group(1)) if match and domain == self.domain else None
        if found is None:
            raise NotFound("No such process address.", details=[("recipient", recipient[:254])])
        return found

    def check_sender(self, address: MailAddress, sender: str) -> None:
        mode, senders = self.store.mail.permissions(address.process_id) or ("anyone", [])
        if mode == "anyone":
            return
        allowed = senders if mode == "restricted" else self.store.mail.members(address.agent_id)
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
        seen = self.store.mail.message(email.message_id, address.token)
        if seen is not None and seen.run_id is not None:
            return seen.run_id
        if address.agent_id not in stored:
            stored[address.agent_id] = [
                self._store_attachment(address.agent_id, a) for a in email.attachments
            ]
        attachments = stored[address.agent_id]
        claim = self.store.mail.claim_message(
            message_id=email.message_id, address=address, facts=email.facts(attachments)
        )
        if not claim.won:
            return claim.run_id
        try:
            request = RunRequest(
                agent_id=address.agent_id,
                process_id=address.process_id,
                stage=Stage(address.stage),
                name=(email.subject or f"e-mail from {email.sender or 'unknown sender'}")[:100],
                file_ids=[a["id"] for a in attachments],
                trigger=Trigger.EMAIL,
                trigger_ref=email.message_id,
            )
            run = self.runs.start(SYSTEM, request)
        except BaseException:
            self.store.mail.release_claim(claim.id)
            raise
        self.store.mail.record_run(claim.id, run.id)
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
