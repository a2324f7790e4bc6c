"""Exception routing: who answers a process's questions, and the e-mail that tells them one waits.

Each process may name assignees (users of its agent, who see its questions as theirs in the
Guidance Center) and more people to notify (e-mail addresses). When a run of it starts waiting for
a person, and no remembered answer answered it, each assignee with an e-mail address and each
address to notify gets one message through the configured SMTP server (``PLAINRUN_SMTP_HOST``,
``PLAINRUN_SMTP_PORT``, from ``PLAINRUN_SMTP_SENDER``) with the question and a link to the run.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from plainrun.domain.guidance import Routing
from plainrun.domain.runs import RunState
from plainrun.errors import InvalidInput
from plainrun.services.access import Principal
from plainrun.services.processes import ProcessService
from plainrun.services.users import parseaddr_ok
from plainrun.settings import Settings
from plainrun.store import Store

log = logging.getLogger(__name__)

MAX_PEOPLE = 50


class RoutingService:
    def __init__(self, store: Store, processes: ProcessService, settings: Settings):
        self.store = store
        self.processes = processes
        self.settings = settings

    def get(self, principal: Principal, process_id: str) -> Routing:
        process = self.processes.get(principal, process_id)
        return self.store.guidance.routing(process.id) or Routing(process.id, process.agent_id)

    def set(
        self, principal: Principal, process_id: str, *, assignees: Sequence[str], notify: Sequence[str]
    ) -> Routing:
        """Route a process's questions: ``assignees`` are ids of users of its agent, ``notify``
        e-mail addresses. 400 for a user of another agent or an address that is not one."""
        process = self.processes.get(principal, process_id)
        users = {u.id for u in self.store.agents.users(process.agent_id)}
        chosen = list(dict.fromkeys(a for a in assignees if a))
        strangers = [a for a in chosen if a not in users]
        if strangers:
            raise InvalidInput(
                "An assignee must be a user of the process's agent.",
                details=[("assignee", strangers[0][:100])],
            )
        addresses = list(dict.fromkeys(a.strip() for a in notify if a.strip()))
        wrong = [a for a in addresses if not parseaddr_ok(a)]
        if wrong:
            raise InvalidInput(
                "An address to notify is not an e-mail address.", details=[("notify", wrong[0][:254])]
            )
        if len(chosen) > MAX_PEOPLE or len(addresses) > MAX_PEOPLE:
            raise InvalidInput(
                f"A process routes to at most {MAX_PEOPLE} assignees and {MAX_PEOPLE} addresses."
            )
        routing = Routing(process.id, process.agent_id, tuple(chosen), tuple(addresses))
        self.store.guidance.set_routing(routing)
        return routing

    def assigned_to(self, principal: Principal, user_id: str) -> list[str]:
        """The ids of the processes (that the caller sees) whose questions go to this user."""
        return [
            r.process_id for r in self.store.guidance.routings(principal.agent_id) if user_id in r.assignees
        ]

    def assignees(self, principal: Principal) -> dict[str, list[str]]:
        """Each process's assignees' names, by process id."""
        users = {u.id: u.name for u in self.store.agents.users(principal.agent_id)}
        return {
            r.process_id: [users[a] for a in r.assignees if a in users]
            for r in self.store.guidance.routings(principal.agent_id)
        }

    # --- notifying -----------------------------------------------------------------------------

    def notify(self, run_id: str) -> list[str]:
        """Tell the people a waiting run's process routes to that it waits; the addresses written to.

        Called by the worker once a run paused and no remembered answer answered it. A run that is
        not waiting (any more) tells no one. A mail server that refuses is logged, never raised.
        """
        run = self.store.runs.get(run_id)
        if run is None or run.state is not RunState.AWAITING_GUIDANCE:
            return []
        routing = self.store.guidance.routing(run.process_id)
        if routing is None:
            return []
        emails = {u.id: u.email for u in self.store.agents.users(run.agent_id) if u.email}
        to = list(dict.fromkeys([*(emails[a] for a in routing.assignees if a in emails), *routing.notify]))
        if not to:
            return []
        process = self.store.processes.get(run.process_id)
        error = run.error or {}
        question = str(error.get("question") or error.get("message") or "")
        link = f"{self.settings.base_url}/ui/runs/{run.id}"
        message = EmailMessage()
        message["From"] = self.settings.smtp_sender
        message["To"] = ", ".join(to)
        message["Subject"] = f"A question waits for you: {process.name if process else run.name}"[:200]
        message["Message-ID"] = make_msgid(domain=self.settings.smtp_sender.rpartition("@")[2] or "localhost")
        line = error.get("line")
        message.set_content(
            f"The run {run.name} of {process.name if process else 'a process'} waits for a person.\n\n"
            f"Question{f' (line {line})' if line else ''}: {question}\n\n"
            f"Answer it here: {link}\n"
        )
        try:
            with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=30) as server:
                server.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning(
                "question not sent",
                extra={"action": "notify_failed", "run": run.id, "error": type(exc).__name__},
            )
            return []
        log.info("question sent", extra={"action": "notified", "run": run.id, "recipients": len(to)})
        return to
