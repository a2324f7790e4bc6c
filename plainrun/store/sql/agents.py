"""Agents, API keys (by their hash), and the users who sign in."""

from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa

from plainrun.domain import ids
from plainrun.domain.agents import Agent, ApiKey, User
from plainrun.domain.clock import utcnow
from plainrun.errors import Conflict
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param

a, k, u = t.agents.c, t.api_keys.c, t.users.c
_INSERT_AGENT = sa.insert(t.agents)
_AGENT = sa.select(t.agents).where(a.id == param(a.id))
_AGENTS = sa.select(t.agents).order_by(a.id)
_KEY_COLUMNS = [k[name] for name in ApiKey.__dataclass_fields__]
_INSERT_KEY = sa.insert(t.api_keys)
_KEY_BY_HASH = sa.select(*_KEY_COLUMNS).where(k.key_hash == param(k.key_hash), k.revoked_at.is_(None))
_ACTIVE_KEY = sa.select(*_KEY_COLUMNS).where(k.id == param(k.id), k.revoked_at.is_(None))
_KEYS = sa.select(*_KEY_COLUMNS).order_by(k.id)
_REVOKE = (
    sa.update(t.api_keys)
    .where(k.id == param(k.id, "b_id"), k.revoked_at.is_(None))
    .values(revoked_at=param(k.revoked_at))
)
_USER_COLUMNS = [u[name] for name in User.__dataclass_fields__]
_INSERT_USER = sa.insert(t.users)
_USER_NAMED = sa.select(u.id).where(u.name == param(u.name))
_USER = sa.select(*_USER_COLUMNS).where(u.id == param(u.id))
_USER_BY_NAME = sa.select(*_USER_COLUMNS).where(u.name == param(u.name))
_USERS = sa.select(*_USER_COLUMNS).order_by(u.name)
_USERS_OF = _USERS.where(u.agent_id == param(u.agent_id))
_DELETE_USER = sa.delete(t.users).where(u.id == param(u.id))


class AgentsSql(Part):
    # --- agents ------------------------------------------------------------------------------

    def create(self, name: str, agent_id: str | None = None) -> Agent:
        agent = Agent(id=agent_id or ids.new_id(), name=name, created_at=utcnow())
        with self.db.write() as tx:
            tx.run(_INSERT_AGENT, asdict(agent))
        return agent

    def get(self, agent_id: str) -> Agent | None:
        with self.db.read() as tx:
            row = tx.first(_AGENT, {"id": agent_id})
        return Agent(**row) if row else None

    def all(self) -> list[Agent]:
        with self.db.read() as tx:
            return [Agent(**row) for row in tx.rows(_AGENTS)]

    # --- API keys ----------------------------------------------------------------------------

    def create_key(self, *, agent_id: str | None, name: str, prefix: str, key_hash: str) -> ApiKey:
        key = ApiKey(
            id=ids.new_id(), agent_id=agent_id, name=name, prefix=prefix, created_at=utcnow(), revoked_at=None
        )
        with self.db.write() as tx:
            tx.run(_INSERT_KEY, {**asdict(key), "key_hash": key_hash})
        return key

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash unless it was revoked."""
        with self.db.read() as tx:
            row = tx.first(_KEY_BY_HASH, {"key_hash": key_hash})
        return ApiKey(**row) if row else None

    def active_key(self, key_id: str) -> ApiKey | None:
        """The key with this id unless it was revoked (a signed-in session re-checks it on each request)."""
        with self.db.read() as tx:
            row = tx.first(_ACTIVE_KEY, {"id": key_id})
        return ApiKey(**row) if row else None

    def keys(self) -> list[ApiKey]:
        with self.db.read() as tx:
            return [ApiKey(**row) for row in tx.rows(_KEYS)]

    def revoke_key(self, key_id: str) -> bool:
        with self.db.write() as tx:
            return tx.run(_REVOKE, {"b_id": key_id, "revoked_at": utcnow()}) == 1

    # --- users -------------------------------------------------------------------------------

    def create_user(self, *, agent_id: str, name: str, password_hash: str, email: str | None = None) -> User:
        user = User(ids.new_id(), agent_id, name, password_hash, utcnow(), email)
        with self.db.write() as tx:
            if tx.scalar(_USER_NAMED, {"name": name}) is not None:
                raise Conflict("A user with this name already exists.", details=[("name", name)])
            tx.run(_INSERT_USER, asdict(user))
        return user

    def user(self, user_id: str) -> User | None:
        with self.db.read() as tx:
            row = tx.first(_USER, {"id": user_id})
        return User(**row) if row else None

    def user_named(self, name: str) -> User | None:
        with self.db.read() as tx:
            row = tx.first(_USER_BY_NAME, {"name": name})
        return User(**row) if row else None

    def users(self, agent_id: str | None = None) -> list[User]:
        with self.db.read() as tx:
            rows = tx.rows(_USERS) if agent_id is None else tx.rows(_USERS_OF, {"agent_id": agent_id})
        return [User(**row) for row in rows]

    def delete_user(self, user_id: str) -> bool:
        with self.db.write() as tx:
            return tx.run(_DELETE_USER, {"id": user_id}) == 1
