"""Webhooks: subscriptions to run events, and the delivery of the outbox's events to them.

A subscription is made for one agent and one of its processes or every one, with a URL that obeys
the outbound rules (``plainrun.domain.outbound``: no loopback, private or link-local address unless
the installation allows its network), checked when it is made and again, after the name is
resolved, at every try. Its signing secret (``whsec_…``) is returned once, by :meth:`create`.

The deliveries themselves are written by the store with the run's change (the outbox, see
``plainrun.store.sql.webhooks``); deliverers (``plainrun.engine.deliverer``) :meth:`claim` the due
ones and :meth:`deliver` each: one POST signed as the Standard Webhooks specification says, no
redirect followed, the answer's status and the start of its body recorded, and a failed try due
again after the pause of :class:`~plainrun.domain.webhooks.Retry`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

from plainrun.books.outbound import OutboundError, check_url, request
from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.outbound import OutboundPolicy
from plainrun.domain.pages import Page, Pager
from plainrun.domain.webhooks import (
    EVENTS,
    MAX_EXCERPT,
    MAX_URL,
    Attempt,
    Delivery,
    Retry,
    Subscription,
    excerpt,
    message_id,
    new_secret,
)
from plainrun.errors import InvalidInput, NotFound
from plainrun.services.access import Principal
from plainrun.services.processes import ProcessService
from plainrun.store import Store

MAX_LIST = 100
MAX_DESCRIPTION = 200


class WebhookService:
    def __init__(
        self,
        store: Store,
        processes: ProcessService,
        *,
        secret: bytes,
        policy: OutboundPolicy,
        retry: Retry,
        timeout_s: float = 15.0,
    ):
        self.store = store
        self.processes = processes
        self.policy = policy
        self.retry = retry
        self.timeout_s = timeout_s
        self._subscriptions = Pager(secret, "webhooks")
        self._deliveries = Pager(secret, "webhook-deliveries")

    # --- for people ------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        *,
        agent_id: str,
        url: str,
        events: Sequence[str] | None = None,
        process_id: str | None = None,
        description: str = "",
    ) -> Subscription:
        """A subscription, with its secret (shown this once)."""
        self.processes.agents.get(principal, agent_id)
        if process_id is not None:
            self.processes.get(principal, process_id, agent_id)
        wanted = _events(events)
        url = url.strip()
        if not url or len(url) > MAX_URL:
            raise InvalidInput(f"The URL is 1 to {MAX_URL} characters.", details=[("url", url[:100])])
        try:
            check_url(url, self.policy)
        except OutboundError as exc:
            raise InvalidInput(f"The URL is refused: {exc}.", details=[("url", url[:200])]) from None
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInput(f"A description is at most {MAX_DESCRIPTION} characters.")
        subscription = Subscription(
            id=ids.new_id(),
            agent_id=agent_id,
            process_id=process_id,
            url=url,
            events=wanted,
            description=description,
            created_at=utcnow(),
            secret=new_secret(),
        )
        return self.store.webhooks.create(subscription)

    def get(self, principal: Principal, subscription_id: str) -> Subscription:
        found = self.store.webhooks.get(subscription_id) if ids.is_id(subscription_id) else None
        if found is None or not principal.can_see(found.agent_id):
            raise NotFound("The webhook subscription was not found.")
        return found

    def page(
        self,
        principal: Principal,
        agent_id: str,
        *,
        process_id: str | None = None,
        limit: int = 50,
        continuation_token: str | None = None,
    ) -> Page[Subscription]:
        """An agent's subscriptions (or one process's), newest first, in keyset pages."""
        self.processes.agents.get(principal, agent_id)
        if process_id is not None:
            self.processes.get(principal, process_id, agent_id)
        limit = min(max(limit, 1), MAX_LIST)
        query = {"agent_id": agent_id, "process_id": process_id}
        before = self._subscriptions.position(continuation_token, query)
        rows = self.store.webhooks.page(agent_id, process_id=process_id, before_id=before, limit=limit + 1)
        return self._subscriptions.page(rows, limit, query, key=lambda x: x.id)

    def delete(self, principal: Principal, subscription_id: str) -> None:
        """A subscription, with its deliveries: nothing more is sent to it."""
        self.get(principal, subscription_id)
        self.store.webhooks.delete(subscription_id)

    def deliveries(
        self,
        principal: Principal,
        subscription_id: str,
        *,
        limit: int = 50,
        continuation_token: str | None = None,
    ) -> Page[tuple[Delivery, list[Attempt]]]:
        """A subscription's deliveries, newest first in keyset pages, each with its attempts."""
        self.get(principal, subscription_id)
        limit = min(max(limit, 1), MAX_LIST)
        query = {"subscription_id": subscription_id}
        before = self._deliveries.position(continuation_token, query)
        rows = self.store.webhooks.deliveries(subscription_id, before_id=before, limit=limit + 1)
        page = self._deliveries.page(rows, limit, query, key=lambda x: x.id)
        attempts = self.store.webhooks.attempts([x.id for x in page.items])
        return Page([(x, attempts[x.id]) for x in page.items], page.continuation_token)

    # --- for deliverers ----------------------------------------------------------------------

    def due(self) -> bool:
        """Whether a delivery is due now."""
        return self.store.webhooks.has_due(utcnow())

    def claim(self, *, limit: int, lease_s: float) -> list[tuple[Delivery, Subscription]]:
        """Due deliveries, leased to the caller for ``lease_s`` (longer than one try takes)."""
        return self.store.webhooks.claim(now=utcnow(), limit=limit, lease_s=lease_s)

    def deliver(self, delivery: Delivery, subscription: Subscription) -> Attempt:
        """One try of a claimed delivery, recorded: Delivered, due again later, or Failed."""
        attempt = self.send(delivery, subscription)
        retry_at = (
            None if attempt.ok else self.retry.next_at(delivery.created_at, delivery.attempts + 1, attempt.at)
        )
        self.store.webhooks.record(delivery, attempt, retry_at=retry_at)
        return attempt

    def send(self, delivery: Delivery, subscription: Subscription) -> Attempt:
        """The signed POST of a delivery to its subscription's URL (checked again as it connects)."""
        at = utcnow()
        headers = sign(subscription.secret, delivery, at)
        started = time.monotonic()
        status: int | None = None
        answer, error = "", None
        try:
            reply = request(
                "POST",
                subscription.url,
                policy=self.policy,
                timeout=self.timeout_s,
                headers=headers,
                content=delivery.body.encode(),
                follow_redirects=False,
                cut_at=MAX_EXCERPT * 4,
            )
            status, answer = reply.status, excerpt(reply.content)
        except OutboundError as exc:
            error = str(exc)[:300]
        duration_ms = round((time.monotonic() - started) * 1000)
        return Attempt(at=at, status_code=status, response=answer, duration_ms=duration_ms, error=error)

    def pending(self) -> int:
        return self.store.webhooks.pending()


def sign(secret: str, delivery: Delivery, at: datetime) -> dict[str, str]:
    """The headers of one try: ``webhook-id`` (the same on every try), ``webhook-timestamp`` (this
    try's, in seconds), ``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of
    ``id.timestamp.body`` under the secret)."""
    msg_id = message_id(delivery.id)
    return {
        "content-type": "application/json",
        "user-agent": "plainrun-webhooks",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, delivery.body),
    }


def _events(events: Sequence[str] | None) -> tuple[str, ...]:
    if events is None:
        return EVENTS
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise InvalidInput(
            "The events are one or more of " + ", ".join(EVENTS) + ".",
            details=[("events", str(e)[:100]) for e in unknown[:10]],
        )
    return tuple(e for e in EVENTS if e in events)
