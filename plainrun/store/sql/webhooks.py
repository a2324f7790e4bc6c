"""Webhooks in the store: subscriptions, the outbox of deliveries, the claim of due deliveries and
the record of each attempt.

The outbox is written by :func:`enqueue`, inside the transaction of the run's change (called from
``store.sql.execution.record_moves``, the one way a move's events are written): a delivery for each
subscription of the run's agent (and process) that wants the event, or, for a run nobody subscribed
to, nothing but one indexed look-up per transaction. A move whose statement returns :data:`HEARD`
for its runs (the fenced finish) says which runs anybody may hear of, and for the others there is
no look-up at all.

Deliverers claim due deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so many claim at once
and none takes another's; SQLite has one writer) by moving ``next_at`` past the try they are about
to make, which is their lease: a deliverer that dies mid-try leaves the delivery due again once it
passes. An attempt is recorded fenced by the number of attempts the claim saw (a deliverer whose
lease passed, and whose delivery another tried meanwhile, records nothing).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from plainrun.domain import ids
from plainrun.domain.webhooks import (
    TOLD_STATES,
    Attempt,
    Delivery,
    DeliveryState,
    Subscription,
    body,
    event_of,
)
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param, params_in
from plainrun.store.tx import Tx

s, d, a, r = t.webhook_subscriptions.c, t.webhook_deliveries.c, t.webhook_attempts.c, t.runs.c
_LIMIT = sa.bindparam("limit", type_=sa.Integer)


def _covers_process(process_id: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """A subscription of the run's agent covers a run of ``process_id``: all its processes, or that one."""
    return sa.or_(s.process_id.is_(None), s.process_id == process_id)


#: The moved run's columns, spelled out: SQLite's ``RETURNING`` is written with bare column names,
#: and a bare ``agent_id`` inside the subquery below would be the subscription's own.
_MOVED_AGENT = sa.literal_column("runs.agent_id", r.agent_id.type)
_MOVED_PROCESS = sa.literal_column("runs.process_id", r.process_id.type)
#: Whether a subscription of the run's agent covers the run (all its processes, or its own): a
#: column for the ``RETURNING`` of a statement that moves runs, so that :func:`enqueue` looks up
#: the subscriptions of those runs only.
HEARD = sa.exists().where(s.agent_id == _MOVED_AGENT, _covers_process(_MOVED_PROCESS)).label("heard")
#: The subscriptions each run's change may be told to, with what its body says of the run.
_MATCHES = (
    sa.select(
        s.id.label("subscription_id"),
        s.events,
        r.id,
        r.agent_id,
        r.process_id,
        r.name,
        r.stage,
        r.attempt,
    )
    .select_from(t.runs.join(t.webhook_subscriptions, s.agent_id == r.agent_id))
    .where(r.id.in_(params_in(r.id, "ids")), _covers_process(r.process_id))
)
_INSERT_DELIVERIES = sa.insert(t.webhook_deliveries)

_INSERT = sa.insert(t.webhook_subscriptions)
_ONE = sa.select(t.webhook_subscriptions).where(s.id == param(s.id))
_MANY = sa.select(t.webhook_subscriptions).where(s.id.in_(params_in(s.id, "ids")))
_OF_AGENT = (
    sa.select(t.webhook_subscriptions)
    .where(s.agent_id == param(s.agent_id))
    .order_by(s.id.desc())
    .limit(_LIMIT)
)
_BEFORE = s.id < param(s.id, "before")
_OF_PROCESS = s.process_id == param(s.process_id)
#: One statement per filter shape: (of one process, after a position).
_PAGES = {
    (False, False): _OF_AGENT,
    (True, False): _OF_AGENT.where(_OF_PROCESS),
    (False, True): _OF_AGENT.where(_BEFORE),
    (True, True): _OF_AGENT.where(_OF_PROCESS, _BEFORE),
}
_DELETE_ATTEMPTS = sa.delete(t.webhook_attempts).where(
    a.delivery_id.in_(sa.select(d.id).where(d.subscription_id == param(d.subscription_id)))
)
_DELETE_DELIVERIES = sa.delete(t.webhook_deliveries).where(d.subscription_id == param(d.subscription_id))
_DELETE = sa.delete(t.webhook_subscriptions).where(s.id == param(s.id))

_DELIVERIES = (
    sa.select(t.webhook_deliveries)
    .where(d.subscription_id == param(d.subscription_id))
    .order_by(d.id.desc())
    .limit(_LIMIT)
)
_DELIVERIES_BEFORE = _DELIVERIES.where(d.id < param(d.id, "before"))
_DELIVERY = sa.select(t.webhook_deliveries).where(d.id == param(d.id))
_ATTEMPTS = (
    sa.select(t.webhook_attempts).where(a.delivery_id.in_(params_in(a.delivery_id, "ids"))).order_by(a.id)
)

_DUE = (
    sa.select(d.id)
    .where(d.state == DeliveryState.PENDING.value, d.next_at <= param(d.next_at, "now"))
    .order_by(d.next_at)
    .limit(_LIMIT)
    .with_for_update(skip_locked=True)
)
_HAS_DUE = (
    sa.select(d.id)
    .where(d.state == DeliveryState.PENDING.value, d.next_at <= param(d.next_at, "now"))
    .limit(1)
)
_CLAIM = (
    sa.update(t.webhook_deliveries)
    .where(d.id.in_(sa.select(_DUE.cte("due").c.id)), d.state == DeliveryState.PENDING.value)
    .values(next_at=param(d.next_at, "lease_until"))
    .returning(*t.webhook_deliveries.c)
)
_INSERT_ATTEMPT = sa.insert(t.webhook_attempts)
_SETTLE = (
    sa.update(t.webhook_deliveries)
    .where(
        d.id == param(d.id, "b_id"),
        d.attempts == param(d.attempts, "b_attempts"),
        d.state == DeliveryState.PENDING.value,
    )
    .values(
        state=param(d.state),
        attempts=d.attempts + 1,
        next_at=param(d.next_at),
        ended_at=param(d.ended_at),
        last_status=param(d.last_status),
    )
)
_PENDING_COUNT = (
    sa.select(sa.func.count()).select_from(t.webhook_deliveries).where(d.state == DeliveryState.PENDING.value)
)


def enqueue(tx: Tx, events: Sequence[dict[str, Any]], heard: Collection[str] | None = None) -> int:
    """Inside the caller's transaction: the deliveries of the run events that subscribers hear of
    (the moves to a told state), one per wanting subscription. How many were written. ``heard``:
    the runs a subscription covers, as the move's own statement found (:data:`HEARD`), when it did."""
    told = [e for e in events if e["to_state"] in TOLD_STATES and (heard is None or e["run_id"] in heard)]
    if not told:
        return 0
    matches: dict[str, list[dict[str, Any]]] = {}
    for row in tx.rows(_MATCHES, {"ids": sorted({e["run_id"] for e in told})}):
        matches.setdefault(row["id"], []).append(row)
    deliveries = []
    for e in told:
        event = event_of(e["to_state"])
        for match in matches.get(e["run_id"], ()):
            if event not in match["events"]:
                continue
            deliveries.append(
                {
                    "id": ids.new_id(),
                    "subscription_id": match["subscription_id"],
                    "agent_id": match["agent_id"],
                    "run_id": e["run_id"],
                    "event": event,
                    "body": body(str(event), e["at"], {**match, "state": e["to_state"]}),
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "next_at": e["at"],
                    "created_at": e["at"],
                    "ended_at": None,
                    "last_status": None,
                }
            )
    tx.execute_many(_INSERT_DELIVERIES, deliveries)
    return len(deliveries)


class WebhooksSql(Part):
    def create(self, subscription: Subscription) -> Subscription:
        with self.db.write() as tx:
            row = {name: getattr(subscription, name) for name in Subscription.__dataclass_fields__}
            tx.execute_many(_INSERT, [{**row, "events": list(subscription.events)}])
        return subscription

    def get(self, subscription_id: str) -> Subscription | None:
        with self.db.read() as tx:
            row = tx.first(_ONE, {"id": subscription_id})
        return Subscription.from_row(row) if row else None

    def page(
        self, agent_id: str, *, process_id: str | None = None, before_id: str | None = None, limit: int = 50
    ) -> list[Subscription]:
        """An agent's subscriptions (or those of one process), newest first, after ``before_id``."""
        query = _PAGES[process_id is not None, before_id is not None]
        params: dict[str, Any] = {"agent_id": agent_id, "limit": limit}
        if process_id is not None:
            params["process_id"] = process_id
        if before_id is not None:
            params["before"] = before_id
        with self.db.read() as tx:
            return [Subscription.from_row(row) for row in tx.rows(query, params)]

    def delete(self, subscription_id: str) -> bool:
        """A subscription, its deliveries (sent or not) and their attempts."""
        with self.db.write() as tx:
            tx.run(_DELETE_ATTEMPTS, {"subscription_id": subscription_id})
            tx.run(_DELETE_DELIVERIES, {"subscription_id": subscription_id})
            return tx.run(_DELETE, {"id": subscription_id}) == 1

    def deliveries(
        self, subscription_id: str, *, before_id: str | None = None, limit: int = 50
    ) -> list[Delivery]:
        """A subscription's deliveries, newest first, after ``before_id``."""
        params: dict[str, Any] = {"subscription_id": subscription_id, "limit": limit}
        with self.db.read() as tx:
            if before_id is None:
                rows = tx.rows(_DELIVERIES, params)
            else:
                rows = tx.rows(_DELIVERIES_BEFORE, {**params, "before": before_id})
        return [Delivery.from_row(row) for row in rows]

    def delivery(self, delivery_id: str) -> Delivery | None:
        with self.db.read() as tx:
            row = tx.first(_DELIVERY, {"id": delivery_id})
        return Delivery.from_row(row) if row else None

    def attempts(self, delivery_ids: Sequence[str]) -> dict[str, list[Attempt]]:
        """Each delivery's attempts, oldest first."""
        found: dict[str, list[Attempt]] = {i: [] for i in delivery_ids}
        if not delivery_ids:
            return found
        with self.db.read() as tx:
            for row in tx.rows(_ATTEMPTS, {"ids": list(delivery_ids)}):
                found[row.pop("delivery_id")].append(Attempt(**{k: v for k, v in row.items() if k != "id"}))
        return found

    def has_due(self, now: datetime) -> bool:
        """Whether a delivery is due (a read: deliverers look before they claim)."""
        with self.db.read() as tx:
            return tx.scalar(_HAS_DUE, {"now": now}) is not None

    def claim(self, *, now: datetime, limit: int, lease_s: float) -> list[tuple[Delivery, Subscription]]:
        """Up to ``limit`` due deliveries, each with its subscription, leased for ``lease_s``."""
        with self.db.write() as tx:
            rows = tx.rows(
                _CLAIM, {"now": now, "limit": limit, "lease_until": now + timedelta(seconds=lease_s)}
            )
            wanted = sorted({row["subscription_id"] for row in rows})
            subscriptions = (
                {row["id"]: Subscription.from_row(row) for row in tx.rows(_MANY, {"ids": wanted})}
                if wanted
                else {}
            )
        deliveries = sorted((Delivery.from_row(row) for row in rows), key=lambda x: x.next_at)
        return [
            (x, subscriptions[x.subscription_id]) for x in deliveries if x.subscription_id in subscriptions
        ]

    def record(self, delivery: Delivery, attempt: Attempt, *, retry_at: datetime | None) -> bool:
        """An attempt of a claimed delivery: Delivered when it succeeded, else due again at
        ``retry_at``, or Failed when that is None. False when another deliverer recorded it first."""
        if attempt.ok:
            state, next_at, ended = DeliveryState.DELIVERED, delivery.next_at, attempt.at
        elif retry_at is not None:
            state, next_at, ended = DeliveryState.PENDING, retry_at, None
        else:
            state, next_at, ended = DeliveryState.FAILED, delivery.next_at, attempt.at
        with self.db.write() as tx:
            settled = tx.run(
                _SETTLE,
                {
                    "b_id": delivery.id,
                    "b_attempts": delivery.attempts,
                    "state": state.value,
                    "next_at": next_at,
                    "ended_at": ended,
                    "last_status": attempt.status_code,
                },
            )
            if settled:  # (a delivery deleted with its subscription meanwhile keeps no attempt)
                tx.execute_many(_INSERT_ATTEMPT, [{"delivery_id": delivery.id, **_fields(attempt)}])
        return settled == 1

    def pending(self) -> int:
        """How many deliveries are still to be made."""
        with self.db.read() as tx:
            return int(tx.scalar(_PENDING_COUNT) or 0)


def _fields(attempt: Attempt) -> dict[str, Any]:
    return {name: getattr(attempt, name) for name in Attempt.__dataclass_fields__}
