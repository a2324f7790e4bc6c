"""Users: people who sign in to the web UI with a name and a password, scoped to one agent.

Passwords are hashed with scrypt (a memory-hard KDF) under a random salt; the hash records its
parameters, so they can be raised later without breaking existing users. A signed-in session holds
only an identity (``("user", id)`` or ``("key", id)``), which :meth:`UserService.principal` checks
again on every request: a deleted user or a revoked key is signed out at once.

Guessing is slowed and then stopped (``SignInPolicy``), by user name and by address, with the
failures kept in the database so that every server counts them: after three failures in a row
each next try waits twice as long (1 s, 2 s, 4 s … up to a minute), and ``sign_in_lock_after``
failures lock the name for ``sign_in_lock_s`` seconds (an address, shared by many people, at five
times as many). A lock ends by itself, or at once with ``plainrun users unlock NAME``. A success
clears the name's failures. Password hashes run ``sign_in_hash_slots`` at a time, each in the
caller's thread (never on an event loop), so that a flood of guesses costs at most that many
cores; a try that finds no free slot within a few seconds is refused as busy.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from plainrun.domain.agents import SignInPolicy, User
from plainrun.domain.clock import utcnow
from plainrun.errors import InvalidInput, NotFound, TooManyTries, Unauthenticated
from plainrun.services.access import Principal
from plainrun.store import Store

T = TypeVar("T")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
#: scrypt cost: 16 MiB of memory and ~50 ms per hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
#: An address is shared by many people (an office behind one router): its bounds are this many
#: times a name's.
ADDRESS_FACTOR = 5
#: How long a sign-in waits for a free hashing slot before it is refused as busy.
HASH_WAIT_S = 5.0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def parseaddr_ok(address: str) -> bool:
    """A plain ``name@domain`` address (no display name, no spaces), at most 254 characters."""
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and len(address) <= 254) and not any(
        c.isspace() or c in '<>,;"' for c in address
    )


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown, so a wrong name takes as long as a wrong password."""
    return hash_password("not a password", salt=b"\0" * 16)


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    #: What the UI shows: the user's name, or the key's prefix.
    label: str


class UserService:
    def __init__(
        self,
        store: Store,
        *,
        policy: SignInPolicy | None = None,
        hash_slots: int = 1,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.policy = policy or SignInPolicy()
        self.clock = clock
        self._slots = threading.BoundedSemaphore(hash_slots)

    def create(self, *, agent_id: str, name: str, password: str, email: str | None = None) -> User:
        name = name.strip()
        if not 1 <= len(name) <= 100 or any(c.isspace() for c in name):
            raise InvalidInput("A user name is 1 to 100 characters without spaces.", details=[("name", name)])
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInput(f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.")
        if email is not None:
            email = email.strip()
            if not parseaddr_ok(email):
                raise InvalidInput("The e-mail address is not one.", details=[("email", email[:254])])
        if self.store.agents.get(agent_id) is None:
            raise NotFound("The agent was not found.")
        return self.store.agents.create_user(
            agent_id=agent_id,
            name=name,
            password_hash=self._hashing(hash_password, password),
            email=email or None,
        )

    def all(self, agent_id: str | None = None) -> list[User]:
        return self.store.agents.users(agent_id)

    def delete(self, name_or_id: str) -> User:
        user = self.store.agents.user_named(name_or_id) or self.store.agents.user(name_or_id)
        if user is None or not self.store.agents.delete_user(user.id):
            raise NotFound("The user was not found.")
        return user

    def sign_in(self, name: str, password: str, *, address: str | None = None) -> User:
        """The user with this name and password; a wrong name or password is the same 401.

        ``address``: where the try comes from (the client's IP address). A name or an address
        that failed too often must wait (429, ``TooManyTries``), and is not tried at all.
        """
        name = name.strip()[:100]
        subjects = {"name": f"user:{name}"}
        if address:
            subjects["address"] = f"address:{address[:100]}"
        self._check_tries(subjects)
        user = self.store.agents.user_named(name) if name else None
        if len(password) > MAX_PASSWORD:  # longer than any user's: never right, nothing to hash
            ok = False
        else:
            stored = user.password_hash if user else _dummy_hash()
            ok = self._hashing(verify_password, password, stored)
        if user is None or not ok:
            self._failed(subjects)
            raise Unauthenticated("The name or the password is not right.")
        self.store.agents.clear_sign_in_failures(subjects["name"])
        return user

    def names(self, key_ids: Iterable[str]) -> dict[str, str]:
        """Who each of these principals is, in words: a user's name, a key's name (never an id)."""
        wanted = set(key_ids)
        out: dict[str, str] = {}
        if any(k.startswith("user:") for k in wanted):
            users = {f"user:{u.id}": u.name for u in self.store.agents.users()}
            out.update((k, users.get(k, "a deleted user")) for k in wanted if k.startswith("user:"))
        others = wanted - out.keys() - {"system", "learning"}
        if others:
            every_key = self.store.agents.keys()
            keys = {k.id: k.name for k in every_key}
            out.update((k, f"the key {keys[k]}" if k in keys else "a removed key") for k in others)
        if "system" in wanted:
            out["system"] = "plainrun"
        if "learning" in wanted:
            out["learning"] = "a remembered answer"
        return out

    def unlock(self, name: str) -> bool:
        """End a user name's lock and forget its failed sign-ins; whether it had any."""
        return self.store.agents.clear_sign_in_failures(f"user:{name.strip()}")

    def _policy(self, kind: str) -> SignInPolicy:
        return self.policy.scaled(ADDRESS_FACTOR) if kind == "address" else self.policy

    def _check_tries(self, subjects: dict[str, str]) -> None:
        """Refuse a try made before its name's or its address's next allowed one."""
        now = self.clock()
        records = {r.subject: r for r in self.store.agents.sign_in_failures(list(subjects.values()))}
        for kind, subject in subjects.items():
            record = records.get(subject)
            policy = self._policy(kind)
            until = policy.next_try(record)
            if until is None or until <= now:
                continue
            wait = math.ceil((until - now).total_seconds())
            whose = "this user name" if kind == "name" else "this address"
            if record is not None and record.failures >= policy.lock_after:
                how = "or at once when an administrator runs: plainrun users unlock NAME"
                raise TooManyTries(
                    f"Too many failed sign-ins for {whose}: it is locked until "
                    f"{until:%Y-%m-%d %H:%M:%S} UTC. It unlocks by itself then"
                    + (f", {how}." if kind == "name" else "."),
                    retry_after_s=wait,
                )
            raise TooManyTries(
                f"Too many failed sign-ins for {whose}: try again in {wait} seconds.", retry_after_s=wait
            )

    def _failed(self, subjects: dict[str, str]) -> None:
        now = self.clock()
        for kind, subject in subjects.items():
            policy = self._policy(kind)
            self.store.agents.sign_in_failed(
                subject,
                now=now,
                lock_after=policy.lock_after,
                locked_until=now + timedelta(seconds=policy.lock_s),
                stale=now - timedelta(seconds=max(policy.lock_s, policy.max_wait_s)),
            )

    def _hashing(self, work: Callable[..., T], *args: str) -> T:
        """``work(*args)`` (a password hash) in one of the bounded slots."""
        if not self._slots.acquire(timeout=HASH_WAIT_S):
            raise TooManyTries("Signing in is busy: try again in a moment.", retry_after_s=int(HASH_WAIT_S))
        try:
            return work(*args)
        finally:
            self._slots.release()

    def identity(self, kind: str, identity_id: str) -> SignedIn | None:
        """Who a session signed in as, or None when that user or key no longer exists or was revoked."""
        if kind == "user":
            user = self.store.agents.user(identity_id)
            if user is None:
                return None
            return SignedIn(Principal(key_id=f"user:{user.id}", agent_id=user.agent_id), user.name)
        if kind == "key":
            key = self.store.agents.active_key(identity_id)
            if key is None:
                return None
            return SignedIn(Principal(key_id=key.id, agent_id=key.agent_id), f"key {key.prefix}…")
        return None
