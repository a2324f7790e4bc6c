"""Signing in to the web UI: guesses slowed and then locked, by user name and by address, with a
clear message of how the lock ends; password hashing bounded and off the event loop."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from plainrun.errors import Unauthenticated
from plainrun.http import create_app
from plainrun.services import users as users_module
from plainrun.services.container import Services, build_services
from plainrun.services.users import MAX_PASSWORD
from tests.security.conftest import settings_for

PASSWORD = "correct horse battery"
LOCK_AFTER = 4


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Env:
    client: TestClient
    services: Services
    clock: Clock

    def sign_in(self, name: str, password: str) -> httpx.Response:
        page = self.client.get("/ui/sign-in")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found is not None, page.text
        form = {"csrf_token": found.group(1), "name": name, "password": password}
        return self.client.post("/ui/sign-in", data=form, follow_redirects=False)


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = settings_for(sqlite_url, tmp_path, sign_in_lock_after=LOCK_AFTER, sign_in_lock_s=600)
    services = build_services(settings, migrate=True)
    clock = Clock()
    services.users.clock = clock
    agent = services.store.agents.create("acme")
    services.users.create(agent_id=agent.id, name="ann", password=PASSWORD)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client:
        yield Env(client, services, clock)
    services.close()


def _message(r: httpx.Response) -> str:
    found = re.search(r'class="(?:error-message|field-error|errors)"[^>]*>([^<]*)<', r.text)
    return found.group(1).strip() if found else r.text


def test_failures_slow_the_next_try_then_lock_the_name_until_it_unlocks(env: Env) -> None:
    for _ in range(3):  # three failures cost nothing
        assert env.sign_in("ann", "wrong password").status_code == 401
    r = env.sign_in("ann", PASSWORD)  # at once: refused without a try, right or not
    assert (r.status_code, r.headers["retry-after"]) == (429, "1"), r.text
    assert "try again in 1 seconds" in _message(r)
    env.clock.advance(1)
    assert env.sign_in("ann", "wrong password").status_code == 401  # the fourth: locked
    env.clock.advance(120)
    r = env.sign_in("ann", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 480
    assert _message(r) == (
        "Too many failed sign-ins for this user name: it is locked until 2030-01-01 09:10:01 UTC. "
        "It unlocks by itself then, or at once when an administrator runs: plainrun users unlock NAME."
    )
    env.clock.advance(480)
    assert env.sign_in("ann", PASSWORD).status_code == 303  # unlocked by itself
    for _ in range(LOCK_AFTER):  # a success cleared the failures: three free again, then waits
        env.sign_in("ann", "wrong password")
        env.clock.advance(60)
    assert env.sign_in("ann", PASSWORD).status_code == 429
    assert env.services.users.unlock("ann") is True
    assert env.sign_in("ann", PASSWORD).status_code == 303


def test_an_address_guessing_many_names_is_slowed_and_locked(env: Env) -> None:
    """Each name is new, so only the address's count (five times a name's) stops the guesses."""
    for n in range(15):
        assert env.sign_in(f"guess{n}", "wrong password").status_code == 401
    r = env.sign_in("ann", PASSWORD)
    assert r.status_code == 429 and "for this address: try again in 1 seconds" in _message(r)
    for n in range(5):
        env.clock.advance(60)
        assert env.sign_in(f"more{n}", "wrong password").status_code == 401
    env.clock.advance(60)
    r = env.sign_in("ann", PASSWORD)
    assert r.status_code == 429
    assert _message(r).startswith("Too many failed sign-ins for this address: it is locked until")
    assert "plainrun users unlock" not in _message(r)
    env.clock.advance(600)
    assert env.sign_in("ann", PASSWORD).status_code == 303


def test_a_password_longer_than_any_users_is_never_right(env: Env) -> None:
    longest = "p" * MAX_PASSWORD
    agent = env.services.store.agents.create("other")
    env.services.users.create(agent_id=agent.id, name="bob", password=longest)
    with pytest.raises(Unauthenticated):
        env.services.users.sign_in("bob", longest + "x")
    assert env.services.users.sign_in("bob", longest).name == "bob"


def test_hashing_waits_for_its_bounded_slot_off_the_event_loop(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the one hashing slot taken, a sign-in waits for it in its own thread while the API
    answers; with the slot taken too long, it is refused as busy."""
    slots = env.services.users._slots
    assert slots.acquire(timeout=5)
    answers: list[int] = []
    waiting = threading.Thread(target=lambda: answers.append(env.sign_in("ann", PASSWORD).status_code))
    waiting.start()
    try:
        for _ in range(5):
            assert env.client.get("/livez").status_code == 200
        assert answers == []  # still waiting for the slot
    finally:
        slots.release()
    waiting.join(30)
    assert answers == [303]
    monkeypatch.setattr(users_module, "HASH_WAIT_S", 0.2)
    assert slots.acquire(timeout=5)
    try:
        r = env.sign_in("ann", PASSWORD)
    finally:
        slots.release()
    assert r.status_code == 429 and _message(r) == "Signing in is busy: try again in a moment."
