"""Agents, API keys, users and the installation's secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plainrun.domain.agents import SignInFailures
from plainrun.errors import Conflict
from plainrun.store import Store


def test_api_keys_are_found_by_hash_until_revoked(store: Store) -> None:
    agent = store.agents.create("acme")
    key = store.agents.create_key(agent_id=agent.id, name="k", prefix="prk_abc", key_hash="h" * 64)
    assert store.agents.key_by_hash("h" * 64) == key == store.agents.active_key(key.id)
    assert store.agents.keys() == [key]
    assert store.agents.revoke_key(key.id) and not store.agents.revoke_key(key.id)
    assert store.agents.key_by_hash("h" * 64) is None and store.agents.active_key(key.id) is None
    assert store.agents.keys()[0].revoked_at is not None


def test_agents_users_and_the_installation(store: Store) -> None:
    first, second = store.agents.create("acme"), store.agents.create("globex")
    assert store.agents.all() == [first, second] and store.agents.get(first.id) == first
    assert store.agents.get("nope") is None
    user = store.agents.create_user(agent_id=first.id, name="alice", password_hash="scrypt$x")
    with pytest.raises(Conflict):
        store.agents.create_user(agent_id=second.id, name="alice", password_hash="scrypt$y")
    store.agents.create_user(agent_id=second.id, name="bob", password_hash="scrypt$z")
    assert store.agents.user(user.id) == user == store.agents.user_named("alice")
    assert [u.name for u in store.agents.users()] == ["alice", "bob"]
    assert [u.name for u in store.agents.users(second.id)] == ["bob"]
    assert store.agents.delete_user(user.id) and not store.agents.delete_user(user.id)
    secret = store.installation.secret()
    assert len(secret) == 32 and store.installation.secret() == secret
    assert store.installation.set_once("k", "first") == "first" == store.installation.set_once("k", "second")
    store.installation.set("k", "third")
    assert store.installation.value("k") == "third" and store.installation.value("nope") is None


def test_failed_sign_ins_count_up_lock_and_are_forgotten(store: Store) -> None:
    now = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    later = now + timedelta(minutes=15)

    def fail(subject: str, at: datetime) -> SignInFailures:
        return store.agents.sign_in_failed(
            subject,
            now=at,
            lock_after=3,
            locked_until=at + timedelta(minutes=15),
            stale=at - timedelta(hours=1),
        )

    assert fail("user:ann", now) == SignInFailures("user:ann", 1, now, None)
    assert fail("user:ann", now).failures == 2
    assert fail("user:ann", now) == SignInFailures("user:ann", 3, now, later)  # locked at the third
    assert fail("user:ann", now + timedelta(minutes=1)).locked_until == later  # a lock is not extended
    fail("address:192.0.2.1", now)
    found = {r.subject: r for r in store.agents.sign_in_failures(["user:ann", "address:192.0.2.1", "user:x"])}
    assert set(found) == {"user:ann", "address:192.0.2.1"} and found["user:ann"].failures == 4
    assert store.agents.clear_sign_in_failures("user:ann") and not store.agents.clear_sign_in_failures(
        "user:ann"
    )
    fail("user:bob", now + timedelta(hours=2))  # the address's lone failure went stale: forgotten
    assert [r.subject for r in store.agents.sign_in_failures(["address:192.0.2.1", "user:bob"])] == [
        "user:bob"
    ]
