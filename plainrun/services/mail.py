"""E-mail to a process: its addresses, who may send to them, and mail that starts runs.

The rules of addresses and senders are the domain's (``plainrun.domain.mail``). The sender is one
identity, the one a process reads as ``the email's sender``: the From: header's address, or the
envelope sender (MAIL FROM) when there is no From:. Who may send is checked on it: at RCPT TO on the
envelope sender, and at DATA, for a process whose senders are checked (``members``, ``restricted``),
the From: header must name the same address (else 550 5.7.1), so the address checked and the address
the process sees are one. A process open to ``anyone`` checks nothing and reads the From: header.

Refused before anything is stored: automatic mail and mail loops, a body longer than the text a run
holds, more attachments than a run takes. A message is claimed before its attachments are stored, and
its facts and its run are written in one transaction (``store.mail.start_run``).

A message accepted for an address starts one run of that stage with trigger ``email`` and the
Message-ID as its ``trigger_ref``; its attachments are stored as files in the run's ``file_ids``,
and the e-mail's facts (subject, sender, recipients, date, text and HTML body, attachments,
Message-ID) are kept beside the run for ``the email``. The same Message-ID to the same address
starts one run, however often and to however many receivers it is delivered.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plainrun.domain.mail import (
    MODES,
    Claim,
    ClaimState,
    MailAddress,
    ParsedEmail,
    check_automatic,
    normalize_senders,
    parse,
    sender_matches,
)
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, NotFound, PlainrunError, TooLarge
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.agents import AgentService
from plainrun.services.files import FileService
from plainrun.services.processes import ProcessService
from plainrun.services.runs import MAX_FILES, RunRequest, RunService
from plainrun.store import Store

_LOCAL = re.compile(r"^p-([a-z2-7]{24})$")


class SenderNotAllowed(InvalidInput):
    """The sender may not send mail to this address."""


class TryLater(PlainrunError):
    """The message is being received by another receiver; try again later."""

    status_code = 503


class OverRate(TryLater):
    """The process has received its bound of e-mails this minute; try again later."""

    status_code = 429


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
        max_text_chars: int,
        max_hops: int,
        per_minute: int,
    ):
        self.store = store
        self.agents = agents
        self.processes = processes
        self.runs = runs
        self.files = files
        self.domain = domain.lower()
        self.max_bytes = max_bytes
        #: The longest body (text or HTML) accepted: the text a run holds.
        self.max_text_chars = max_text_chars
        self.max_hops = max_hops
        #: The runs e-mail may start per process and minute.
        self.per_minute = per_minute

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

    def check_identity(self, address: MailAddress, email: ParsedEmail) -> None:
        """The one sender identity, checked: where senders are checked, the From: header must name
        the envelope sender (checked at RCPT TO), and that address must be allowed."""
        mode, _ = self.store.mail.permissions(address.process_id) or ("anyone", [])
        if mode == "anyone":
            return
        if not email.agrees:
            raise SenderNotAllowed(
                "The From: header does not name the envelope sender.",
                details=[("from", email.from_address[:254]), ("sender", email.envelope_sender[:254])],
            )
        self.check_sender(address, email.sender)

    def receive(self, data: bytes, mail_from: str, rcpt_tos: Sequence[str]) -> list[str]:
        """Start one run per recipient address; returns the run ids (a repeat returns the first run's).
        ``TryLater`` while another receiver holds the message's claim or the process is over its rate."""
        if len(data) > self.max_bytes:
            raise TooLarge(f"An e-mail may be at most {self.max_bytes} bytes.")
        addresses: dict[str, MailAddress] = {}
        for recipient in rcpt_tos:
            address = self.accept_recipient(recipient, mail_from)
            addresses.setdefault(address.token, address)
        if not addresses:
            raise InvalidInput("The e-mail has no recipient.")
        email = parse(data, envelope_sender=mail_from, max_text_chars=self.max_text_chars)
        check_automatic(email, max_hops=self.max_hops)
        if len(email.attachments) > MAX_FILES:
            raise TooLarge(f"An e-mail may carry at most {MAX_FILES} attachments.")
        for address in addresses.values():
            self.check_identity(address, email)
        stored: dict[str, list[dict[str, Any]]] = {}  # per agent: attachments are stored once
        run_ids: list[str] = []
        waiting: list[ClaimState] = []
        for address in addresses.values():
            claim = self.store.mail.claim_message(
                message_id=email.message_id, address=address, per_minute=self.per_minute
            )
            if claim.state is ClaimState.STARTED and claim.run_id is not None:
                run_ids.append(claim.run_id)
            elif claim.won:
                run_id = self._start(address, claim, email, stored)
                run_ids.extend([run_id] if run_id else [])
            else:
                waiting.append(claim.state)
        if ClaimState.OVER_RATE in waiting:
            raise OverRate(f"A process starts at most {self.per_minute} runs a minute from e-mail.")
        if waiting:
            raise TryLater()
        return run_ids

    def _start(
        self, address: MailAddress, claim: Claim, email: ParsedEmail, stored: dict[str, list[dict[str, Any]]]
    ) -> str | None:
        """The run of a claimed message: checked, then its attachments stored, then the facts and
        the run written together (None when another receiver took the claim over meanwhile)."""
        assert claim.id is not None
        try:
            new = self.runs.prepare(SYSTEM, self._request(address, email))
            if address.agent_id not in stored:
                stored[address.agent_id] = [
                    self._store_attachment(address.agent_id, a) for a in email.attachments
                ]
            attachments = stored[address.agent_id]
            new = dataclasses.replace(new, file_ids=[a["id"] for a in attachments])
            started = self.store.mail.start_run(claim.id, facts=email.facts(attachments), run=new)
        except BaseException:
            self.store.mail.release_claim(claim.id)
            raise
        return new.id if started else None

    def _request(self, address: MailAddress, email: ParsedEmail) -> RunRequest:
        return RunRequest(
            agent_id=address.agent_id,
            process_id=address.process_id,
            stage=Stage(address.stage),
            name=(email.subject or f"e-mail from {email.sender or 'unknown sender'}")[:100],
            trigger=Trigger.EMAIL,
            trigger_ref=email.message_id,
        )

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
