"""Agents, API keys (by their hash), and the users who sign in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from plainrun.domain import ids
from plainrun.domain.agents import Agent, ApiKey, SignInFailures, User
from plainrun.domain.clock import utcnow
from plainrun.errors import Conflict
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param, params_in

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
sf = t.sign_in_failures.c
_FAILURES = sa.select(t.sign_in_failures).where(sf.subject.in_(params_in(sf.subject, "subjects")))
_FAILED = (
    sa.update(t.sign_in_failures)
    .where(sf.subject == param(sf.subject, "b_subject"))
    .values(failures=sf.failures + 1, last_at=param(sf.last_at))
    .returning(*t.sign_in_failures.c)
)
_FIRST_FAILURE = {
    "sqlite": sqlite.insert(t.sign_in_failures).on_conflict_do_nothing().returning(*t.sign_in_failures.c),
    "postgresql": postgresql.insert(t.sign_in_failures)
    .on_conflict_do_nothing()
    .returning(*t.sign_in_failures.c),
}
_LOCK = (
    sa.update(t.sign_in_failures)
    .where(sf.subject == param(sf.subject, "b_subject"))
    .values(locked_until=param(sf.locked_until))
)
_CLEAR = sa.delete(t.sign_in_failures).where(sf.subject == param(sf.subject))
_STALE = sa.delete(t.sign_in_failures).where(
    sf.last_at < param(sf.last_at, "stale"),
    sa.or_(sf.locked_until.is_(None), sf.locked_until < param(sf.locked_until, "stale_lock")),
)


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

    # --- failed sign-ins ---------------------------------------------------------------------

    def sign_in_failures(self, subjects: Sequence[str]) -> list[SignInFailures]:
        with self.db.read() as tx:
            return [SignInFailures(**row) for row in tx.rows(_FAILURES, {"subjects": list(subjects)})]

    def sign_in_failed(
        self, subject: str, *, now: datetime, lock_after: int, locked_until: datetime, stale: datetime
    ) -> SignInFailures:
        """One more failure in a row of ``subject`` (locked until ``locked_until`` when it reaches
        ``lock_after``); the failures of every subject last seen before ``stale`` are forgotten."""
        with self.db.write() as tx:
            tx.run(_STALE, {"stale": stale, "stale_lock": now})
            rows = tx.rows(_FAILED, {"b_subject": subject, "last_at": now})
            if not rows:
                first = {"subject": subject, "failures": 1, "last_at": now, "locked_until": None}
                rows = tx.rows(_FIRST_FAILURE[tx.dialect], first) or tx.rows(
                    _FAILED, {"b_subject": subject, "last_at": now}
                )
            record = SignInFailures(**rows[0])
            expired = record.locked_until is None or record.locked_until <= now
            if record.failures >= lock_after and expired:
                tx.run(_LOCK, {"b_subject": subject, "locked_until": locked_until})
                record = SignInFailures(record.subject, record.failures, now, locked_until)
        return record

    def clear_sign_in_failures(self, subject: str) -> bool:
        with self.db.write() as tx:
            return tx.run(_CLEAR, {"subject": subject}) > 0
