"""E-mail to a process in the store: addresses, who may send, and each message accepted once.

The database guarantees what must hold across any number of mail receivers: one active address per
process and stage (a partial unique index), and one accepted message per (Message-ID, address) (a
unique constraint). A receiver *claims* a message by inserting its row; the one insert that wins
starts the run, every other sees the claim and starts nothing.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from plainrun import ids
from plainrun.store import schema as t
from plainrun.store.sql import SqlStore, utcnow

#: A claim whose run was never started (its receiver died) may be taken over after this long.
STALE_CLAIM = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class MailAddress:
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


def _address(row: RowMapping) -> MailAddress:
    return MailAddress(**{k: row[k] for k in MailAddress.__slots__})  # type: ignore[attr-defined]


def _insert_ignoring_conflicts(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True if the row was inserted."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    inserted = conn.execute(insert(table).values(values).on_conflict_do_nothing().returning(key)).first()
    return inserted is not None


# --- addresses -------------------------------------------------------------------------------


def _active(conn: Connection, process_id: str, stage: str) -> MailAddress | None:
    row = (
        conn.execute(
            sa.select(t.mail_addresses).where(
                t.mail_addresses.c.process_id == process_id,
                t.mail_addresses.c.stage == stage,
                t.mail_addresses.c.revoked_at.is_(None),
            )
        )
        .mappings()
        .first()
    )
    return _address(row) if row else None


def active_address(store: SqlStore, *, process_id: str, stage: str, agent_id: str) -> MailAddress:
    """The process's active address for a stage, made on first use."""
    with store.read() as conn:
        found = _active(conn, process_id, stage)
    if found is not None:
        return found
    with store.write() as conn:
        _new_address(conn, process_id=process_id, stage=stage, agent_id=agent_id, now=utcnow())
        found = _active(conn, process_id, stage)
    assert found is not None
    return found


def _new_address(conn: Connection, *, process_id: str, stage: str, agent_id: str, now: datetime) -> None:
    """A fresh token for a stage's address (a concurrent one that won the race is kept instead)."""
    _insert_ignoring_conflicts(
        conn,
        t.mail_addresses,
        {
            "token": new_token(),
            "process_id": process_id,
            "stage": stage,
            "agent_id": agent_id,
            "created_at": now,
            "revoked_at": None,
        },
    )


def rotate_address(store: SqlStore, *, process_id: str, stage: str, agent_id: str) -> MailAddress:
    """Revoke the active address of a stage and make a new one (the old token stops working)."""
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            sa.update(t.mail_addresses)
            .where(
                t.mail_addresses.c.process_id == process_id,
                t.mail_addresses.c.stage == stage,
                t.mail_addresses.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        _new_address(conn, process_id=process_id, stage=stage, agent_id=agent_id, now=now)
        found = _active(conn, process_id, stage)
    assert found is not None
    return found


def find_address(store: SqlStore, token: str) -> MailAddress | None:
    """The active address with this token; a revoked or unknown token is None."""
    with store.read() as conn:
        row = (
            conn.execute(
                sa.select(t.mail_addresses).where(
                    t.mail_addresses.c.token == token, t.mail_addresses.c.revoked_at.is_(None)
                )
            )
            .mappings()
            .first()
        )
    return _address(row) if row else None


# --- permissions -----------------------------------------------------------------------------


def get_permissions(store: SqlStore, process_id: str) -> tuple[str, list[str]] | None:
    """``(mode, senders)`` set for a process, or None when never set."""
    with store.read() as conn:
        row = conn.execute(
            sa.select(t.mail_permissions.c.mode, t.mail_permissions.c.senders).where(
                t.mail_permissions.c.process_id == process_id
            )
        ).first()
    return (row.mode, list(row.senders)) if row else None


def set_permissions(store: SqlStore, process_id: str, *, mode: str, senders: list[str]) -> None:
    with store.write() as conn:
        conn.execute(sa.delete(t.mail_permissions).where(t.mail_permissions.c.process_id == process_id))
        conn.execute(
            sa.insert(t.mail_permissions).values(
                process_id=process_id, mode=mode, senders=senders, updated_at=utcnow()
            )
        )


def get_members(store: SqlStore, agent_id: str) -> list[str]:
    """The senders that count as the agent's members (empty when never set)."""
    with store.read() as conn:
        senders = conn.scalar(
            sa.select(t.mail_members.c.senders).where(t.mail_members.c.agent_id == agent_id)
        )
    return list(senders or [])


def set_members(store: SqlStore, agent_id: str, senders: list[str]) -> None:
    with store.write() as conn:
        conn.execute(sa.delete(t.mail_members).where(t.mail_members.c.agent_id == agent_id))
        conn.execute(
            sa.insert(t.mail_members).values(agent_id=agent_id, senders=senders, updated_at=utcnow())
        )


# --- messages --------------------------------------------------------------------------------


def find_message(store: SqlStore, message_id: str, token: str) -> Claim | None:
    """The claim of a message for an address, if it was received before."""
    with store.read() as conn:
        row = conn.execute(
            sa.select(t.mail_messages.c.id, t.mail_messages.c.run_id).where(
                t.mail_messages.c.message_id == message_id, t.mail_messages.c.token == token
            )
        ).first()
    return Claim(won=False, id=row.id, run_id=row.run_id) if row else None


def claim_message(store: SqlStore, *, message_id: str, address: MailAddress, facts: dict[str, Any]) -> Claim:
    """Claim a message for an address, with the e-mail facts its run reads; the unique constraint on
    (message_id, token) lets one claim win. A claim whose run never started (a receiver died between
    the claim and the run) is taken over once it is older than ``STALE_CLAIM``."""
    now = utcnow()
    claim_id = ids.new_id()
    with store.write() as conn:
        won = _insert_ignoring_conflicts(
            conn,
            t.mail_messages,
            {
                "id": claim_id,
                "message_id": message_id,
                "token": address.token,
                "process_id": address.process_id,
                "stage": address.stage,
                "run_id": None,
                "facts": facts,
                "received_at": now,
            },
        )
        if won:
            return Claim(won=True, id=claim_id, run_id=None)
        row = conn.execute(
            sa.update(t.mail_messages)
            .where(
                t.mail_messages.c.message_id == message_id,
                t.mail_messages.c.token == address.token,
                t.mail_messages.c.run_id.is_(None),
                t.mail_messages.c.received_at < now - STALE_CLAIM,
            )
            .values(facts=facts, received_at=now)
            .returning(t.mail_messages.c.id)
        ).first()
        if row is not None:
            return Claim(won=True, id=row.id, run_id=None)
        existing = conn.execute(
            sa.select(t.mail_messages.c.id, t.mail_messages.c.run_id).where(
                t.mail_messages.c.message_id == message_id, t.mail_messages.c.token == address.token
            )
        ).one()
    return Claim(won=False, id=existing.id, run_id=existing.run_id)


def record_run(store: SqlStore, claim_id: str, run_id: str) -> None:
    with store.write() as conn:
        conn.execute(sa.update(t.mail_messages).where(t.mail_messages.c.id == claim_id).values(run_id=run_id))


def release_claim(store: SqlStore, claim_id: str) -> None:
    """Forget a claim whose run could not start, so that the sender's retry is received afresh."""
    with store.write() as conn:
        conn.execute(
            sa.delete(t.mail_messages).where(
                t.mail_messages.c.id == claim_id, t.mail_messages.c.run_id.is_(None)
            )
        )


def email_facts(
    store: SqlStore, *, process_id: str, stage: str, message_id: str | None
) -> dict[str, Any] | None:
    """The stored e-mail facts of a run started by e-mail (its trigger_ref is the Message-ID).

    Read by the claim's (process, stage, Message-ID), which is written before the run exists, so a
    worker that claims the run at once finds its facts.
    """
    if not message_id:
        return None
    with store.read() as conn:
        facts = conn.scalar(
            sa.select(t.mail_messages.c.facts)
            .where(
                t.mail_messages.c.process_id == process_id,
                t.mail_messages.c.stage == stage,
                t.mail_messages.c.message_id == message_id,
            )
            .order_by(t.mail_messages.c.received_at.desc())
            .limit(1)
        )
    return dict(facts) if facts is not None else None
