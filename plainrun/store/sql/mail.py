"""E-mail to a process in the store: addresses, who may send, and each message accepted once.

The database guarantees what must hold across any number of mail receivers: one active address per
process and stage (a partial unique index), and one accepted message per (Message-ID, address) (a
unique constraint). A receiver *claims* a message by inserting its row (nothing else is stored
before: a repeat or refused delivery leaves nothing behind); the one insert that wins stores the
attachments, then writes the message's facts and its run in one transaction (:meth:`MailSql.start_run`),
fenced by the claim's id. A claim whose run was never written (its receiver died) makes every other
delivery wait (``RECEIVING``) while it is fresh, and is taken over, under a new id, once it is older
than ``STALE_CLAIM``: so a message is neither lost nor doubled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.mail import Claim, ClaimState, MailAddress, new_token
from plainrun.domain.runs import NewRun
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param
from plainrun.store.sql.runs import insert_runs
from plainrun.store.tx import Tx

#: A claim whose run was never started (its receiver died) may be taken over after this long.
STALE_CLAIM = timedelta(minutes=10)
#: The window of the per-process bound of messages received.
RATE_WINDOW = timedelta(minutes=1)

ad, pm, mb, ms = t.mail_addresses.c, t.mail_permissions.c, t.mail_members.c, t.mail_messages.c
_STAGE = (ad.process_id == param(ad.process_id, "w_process"), ad.stage == param(ad.stage, "w_stage"))
_ACTIVE = sa.select(t.mail_addresses).where(*_STAGE, ad.revoked_at.is_(None))
_REVOKE = (
    sa.update(t.mail_addresses)
    .where(*_STAGE, ad.revoked_at.is_(None))
    .values(revoked_at=param(ad.revoked_at))
)
_BY_TOKEN = sa.select(t.mail_addresses).where(ad.token == param(ad.token), ad.revoked_at.is_(None))
_PERMISSIONS = sa.select(pm.mode, pm.senders).where(pm.process_id == param(pm.process_id))
_FORGET_PERMISSIONS = sa.delete(t.mail_permissions).where(pm.process_id == param(pm.process_id))
_INSERT_PERMISSIONS = sa.insert(t.mail_permissions)
_MEMBERS = sa.select(mb.senders).where(mb.agent_id == param(mb.agent_id))
_FORGET_MEMBERS = sa.delete(t.mail_members).where(mb.agent_id == param(mb.agent_id))
_INSERT_MEMBERS = sa.insert(t.mail_members)
_MESSAGE_KEY = (ms.message_id == param(ms.message_id, "w_message"), ms.token == param(ms.token, "w_token"))
_MESSAGE = sa.select(ms.id, ms.run_id, ms.received_at).where(*_MESSAGE_KEY)
_TAKE_OVER = (
    sa.update(t.mail_messages)
    .where(*_MESSAGE_KEY, ms.run_id.is_(None), ms.received_at < param(ms.received_at, "stale_before"))
    .values(id=param(ms.id), received_at=param(ms.received_at))
)
_RECEIVED_SINCE = (
    sa.select(sa.func.count())
    .select_from(t.mail_messages)
    .where(ms.process_id == param(ms.process_id), ms.received_at >= param(ms.received_at, "since"))
)
_RECORD_RUN = (
    sa.update(t.mail_messages)
    .where(ms.id == param(ms.id, "b_id"), ms.run_id.is_(None))
    .values(run_id=param(ms.run_id), facts=param(ms.facts))
)
_RELEASE = sa.delete(t.mail_messages).where(ms.id == param(ms.id), ms.run_id.is_(None))
_FACTS = (
    sa.select(ms.facts)
    .where(
        ms.process_id == param(ms.process_id),
        ms.stage == param(ms.stage),
        ms.message_id == param(ms.message_id),
    )
    .order_by(ms.received_at.desc())
    .limit(1)
)


def _insert_if_new(table: sa.Table) -> dict[str, sa.Insert]:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING <key>`` in each dialect's words."""
    key = next(iter(table.primary_key.columns))
    return {
        "sqlite": sqlite.insert(table).on_conflict_do_nothing().returning(key),
        "postgresql": postgresql.insert(table).on_conflict_do_nothing().returning(key),
    }


_NEW_ADDRESS = _insert_if_new(t.mail_addresses)
_NEW_MESSAGE = _insert_if_new(t.mail_messages)


def _new_address(tx: Tx, *, process_id: str, stage: str, agent_id: str, now: datetime) -> None:
    """A fresh token for a stage's address (a concurrent one that won the race is kept instead)."""
    row = {
        "token": new_token(),
        "process_id": process_id,
        "stage": stage,
        "agent_id": agent_id,
        "created_at": now,
        "revoked_at": None,
    }
    tx.rows(_NEW_ADDRESS[tx.dialect], row)


class MailSql(Part):
    # --- addresses -------------------------------------------------------------------------------

    def active_address(self, *, process_id: str, stage: str, agent_id: str) -> MailAddress:
        """The process's active address for a stage, made on first use."""
        where = {"w_process": process_id, "w_stage": stage}
        with self.db.read() as tx:
            row = tx.first(_ACTIVE, where)
        if row is None:
            with self.db.write() as tx:
                _new_address(tx, process_id=process_id, stage=stage, agent_id=agent_id, now=utcnow())
                row = tx.first(_ACTIVE, where)
        assert row is not None
        return MailAddress(**row)

    def rotate_address(self, *, process_id: str, stage: str, agent_id: str) -> MailAddress:
        """Revoke the active address of a stage and make a new one (the old token stops working)."""
        now = utcnow()
        where = {"w_process": process_id, "w_stage": stage}
        with self.db.write() as tx:
            tx.run(_REVOKE, {**where, "revoked_at": now})
            _new_address(tx, process_id=process_id, stage=stage, agent_id=agent_id, now=now)
            row = tx.first(_ACTIVE, where)
        assert row is not None
        return MailAddress(**row)

    def address(self, token: str) -> MailAddress | None:
        """The active address with this token; a revoked or unknown token is None."""
        with self.db.read() as tx:
            row = tx.first(_BY_TOKEN, {"token": token})
        return MailAddress(**row) if row else None

    # --- permissions -----------------------------------------------------------------------------

    def permissions(self, process_id: str) -> tuple[str, list[str]] | None:
        """``(mode, senders)`` set for a process, or None when never set."""
        with self.db.read() as tx:
            row = tx.first(_PERMISSIONS, {"process_id": process_id})
        return (row["mode"], list(row["senders"])) if row else None

    def set_permissions(self, process_id: str, *, mode: str, senders: list[str]) -> None:
        with self.db.write() as tx:
            tx.run(_FORGET_PERMISSIONS, {"process_id": process_id})
            row = {"process_id": process_id, "mode": mode, "senders": senders, "updated_at": utcnow()}
            tx.run(_INSERT_PERMISSIONS, row)

    def members(self, agent_id: str) -> list[str]:
        """The senders that count as the agent's members (empty when never set)."""
        with self.db.read() as tx:
            senders = tx.scalar(_MEMBERS, {"agent_id": agent_id})
        return list(senders or [])

    def set_members(self, agent_id: str, senders: list[str]) -> None:
        with self.db.write() as tx:
            tx.run(_FORGET_MEMBERS, {"agent_id": agent_id})
            tx.run(_INSERT_MEMBERS, {"agent_id": agent_id, "senders": senders, "updated_at": utcnow()})

    # --- messages --------------------------------------------------------------------------------

    def message(self, message_id: str, token: str) -> Claim | None:
        """What a delivery of this message to this address would find now, if it was received before
        (``STARTED``, or ``RECEIVING`` for a claim without its run)."""
        with self.db.read() as tx:
            row = tx.first(_MESSAGE, {"w_message": message_id, "w_token": token})
        return _found(row) if row else None

    def claim_message(self, *, message_id: str, address: MailAddress, per_minute: int | None = None) -> Claim:
        """Claim a message for an address. The unique constraint on (message_id, token) lets one
        claim win; a claim without its run is taken over once older than ``STALE_CLAIM``. A new
        message is ``OVER_RATE`` when the process received ``per_minute`` messages in the last
        minute already (a repeat of one received is not counted, nor refused)."""
        now = utcnow()
        claim_id = ids.new_id()
        key = {"w_message": message_id, "w_token": address.token}
        row: dict[str, Any] = {
            "id": claim_id,
            "message_id": message_id,
            "token": address.token,
            "process_id": address.process_id,
            "stage": address.stage,
            "run_id": None,
            "facts": {},
            "received_at": now,
        }
        with self.db.write() as tx:
            existing = tx.first(_MESSAGE, key)
            if existing is not None and (existing["run_id"] or existing["received_at"] >= now - STALE_CLAIM):
                return _found(existing)
            if per_minute is not None:
                since = {"process_id": address.process_id, "since": now - RATE_WINDOW}
                if tx.scalar(_RECEIVED_SINCE, since) >= per_minute:
                    return Claim(ClaimState.OVER_RATE)
            if existing is None and tx.rows(_NEW_MESSAGE[tx.dialect], row):
                return Claim(ClaimState.WON, claim_id)
            taken = {**key, "stale_before": now - STALE_CLAIM, "id": claim_id, "received_at": now}
            if tx.run(_TAKE_OVER, taken):
                return Claim(ClaimState.WON, claim_id)
            existing = tx.first(_MESSAGE, key)
        assert existing is not None
        return _found(existing)

    def start_run(self, claim_id: str, *, facts: dict[str, Any], run: NewRun) -> bool:
        """In one transaction: the message's facts, its run, and the run recorded on the claim; only
        while the claim is still this receiver's (False, and nothing written, once taken over)."""
        with self.db.write() as tx:
            if not tx.run(_RECORD_RUN, {"b_id": claim_id, "run_id": run.id, "facts": facts}):
                return False
            insert_runs(tx, [run])
        return True

    def release_claim(self, claim_id: str) -> None:
        """Forget a claim whose run could not start, so that the sender's retry is received afresh."""
        with self.db.write() as tx:
            tx.run(_RELEASE, {"id": claim_id})

    def facts(self, *, process_id: str, stage: str, message_id: str | None) -> dict[str, Any] | None:
        """The stored e-mail facts of a run started by e-mail (its trigger_ref is the Message-ID).

        Read by the claim's (process, stage, Message-ID), which is written before the run exists, so
        a worker that claims the run at once finds its facts.
        """
        if not message_id:
            return None
        with self.db.read() as tx:
            facts = tx.scalar(_FACTS, {"process_id": process_id, "stage": stage, "message_id": message_id})
        return dict(facts) if facts is not None else None


def _found(row: dict[str, Any]) -> Claim:
    """A message received before: its run, or a claim that has not started it yet."""
    if row["run_id"]:
        return Claim(ClaimState.STARTED, row["id"], row["run_id"])
    return Claim(ClaimState.RECEIVING, row["id"])
