"""Identities that sign in to the web UI: users (name and password hash), and API keys by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from plainrun import ids
from plainrun.errors import Conflict
from plainrun.store import schema as t
from plainrun.store.records import ApiKey
from plainrun.store.sql import SqlStore, utcnow


@dataclass(frozen=True, slots=True)
class User:
    id: str
    agent_id: str
    name: str
    password_hash: str
    created_at: datetime


_COLUMNS = [t.users.c[name] for name in User.__slots__]  # type: ignore[attr-defined]


def create_user(store: SqlStore, *, agent_id: str, name: str, password_hash: str) -> User:
    user = User(ids.new_id(), agent_id, name, password_hash, utcnow())
    with store.write() as conn:
        taken = conn.scalar(sa.select(t.users.c.id).where(t.users.c.name == name))
        if taken is not None:
            raise Conflict("A user with this name already exists.", details=[("name", name)])
        conn.execute(
            sa.insert(t.users).values(
                id=user.id,
                agent_id=agent_id,
                name=name,
                password_hash=password_hash,
                created_at=user.created_at,
            )
        )
    return user


def _one(store: SqlStore, where: sa.ColumnElement[bool]) -> User | None:
    with store.read() as conn:
        row = conn.execute(sa.select(*_COLUMNS).where(where)).first()
    return User(*row) if row else None


def get_user(store: SqlStore, user_id: str) -> User | None:
    return _one(store, t.users.c.id == user_id)


def find_user(store: SqlStore, name: str) -> User | None:
    return _one(store, t.users.c.name == name)


def list_users(store: SqlStore, agent_id: str | None = None) -> list[User]:
    query = sa.select(*_COLUMNS).order_by(t.users.c.name)
    if agent_id is not None:
        query = query.where(t.users.c.agent_id == agent_id)
    with store.read() as conn:
        return [User(*row) for row in conn.execute(query).all()]


def delete_user(store: SqlStore, user_id: str) -> bool:
    with store.write() as conn:
        return conn.execute(sa.delete(t.users).where(t.users.c.id == user_id)).rowcount == 1


def active_key(store: SqlStore, key_id: str) -> ApiKey | None:
    """The API key with this id unless it was revoked (a signed-in session re-checks it on each request)."""
    with store.read() as conn:
        row = (
            conn.execute(
                sa.select(t.api_keys).where(t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None))
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    return ApiKey(**{k: row[k] for k in ApiKey.__slots__})  # type: ignore[attr-defined]
