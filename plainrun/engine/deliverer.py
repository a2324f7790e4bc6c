"""The deliverer: sends the outbox's due webhook deliveries, at least once each.

It runs in every worker (``Worker.run``, unless ``PLAINRUN_WEBHOOK_DELIVERY=false``), as one more
task of its loop: it looks for due deliveries (a read through a partial index), claims a batch
under a lease (``SKIP LOCKED`` on PostgreSQL, so any number of deliverers share the work), and makes
each try in a thread, a few at once, recording its answer. A deliverer that dies mid-try leaves its
claimed deliveries due again once their lease passes: a receiver may see an event twice (the same
``webhook-id``), never not at all. The worker wakes it as soon as it has written outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from plainrun.domain.webhooks import Delivery, Subscription
from plainrun.errors import StoreError
from plainrun.services.webhooks import WebhookService

log = logging.getLogger(__name__)


class Deliverer:
    def __init__(self, webhooks: WebhookService, *, poll_s: float = 1.0, concurrency: int = 8):
        self.webhooks = webhooks
        self.poll_s = poll_s
        self.concurrency = concurrency
        #: A claim lasts longer than any try may take.
        self.lease_s = webhooks.timeout_s * 2 + 5
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due deliveries now (new ones may have been written)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; the tries under way then end before this returns."""
        while not stop.is_set():
            self._wake.clear()
            sent = 0
            try:
                sent = await self.round()
            except Exception as exc:  # the database is away (or worse): the loop must go on
                log.warning(
                    "webhook delivery failed",
                    extra={"action": "webhooks_failed", "error": str(exc)},
                    exc_info=not isinstance(exc, StoreError),
                )
            if sent:
                continue  # a full batch may have left more behind
            await self._pause(stop)

    async def round(self) -> int:
        """Claim the due deliveries (a batch) and try each; how many were tried."""
        if not await asyncio.to_thread(self.webhooks.due):
            return 0
        claimed = await asyncio.to_thread(self.webhooks.claim, limit=self.concurrency, lease_s=self.lease_s)
        await asyncio.gather(*(self._try(d, s) for d, s in claimed))
        return len(claimed)

    async def _try(self, delivery: Delivery, subscription: Subscription) -> None:
        attempt = await asyncio.to_thread(self.webhooks.deliver, delivery, subscription)
        log.info(
            "webhook tried",
            extra={
                "action": "webhook_tried",
                "delivery": delivery.id,
                "status": attempt.status_code,
                "error": attempt.error,
            },
        )

    async def _pause(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waits, timeout=self.poll_s, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
