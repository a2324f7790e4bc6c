"""Who owns and who reaches things: agents, API keys, and the users who sign in to the web UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Agent:
    """The owner of processes, runs and files; a key or user of one agent sees only its own."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as it is shown: never its secret (only a hash of it is stored)."""

    id: str
    #: None: the whole installation.
    agent_id: str | None
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in with a name and a password; sees what a key of its agent sees."""

    id: str
    agent_id: str
    name: str
    #: scrypt, with its parameters and salt (see ``plainrun.services.users``).
    password_hash: str
    created_at: datetime
    #: Where questions assigned to the user are sent (None: not by e-mail).
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SignInFailures:
    """The failed sign-ins in a row of one subject: a user name (``user:<name>``) or an address
    (``address:<ip>``)."""

    subject: str
    failures: int
    last_at: datetime
    #: Set when the failures reached the lock: no try is taken before then.
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """How failed sign-ins slow the next try: ``free`` failures in a row cost nothing; each one
    after them doubles the wait before the next try (1 s, 2 s, 4 s …, at most ``max_wait_s``);
    ``lock_after`` failures lock the subject for ``lock_s`` seconds."""

    lock_after: int = 10
    lock_s: float = 900.0
    free: int = 3
    max_wait_s: float = 60.0

    def scaled(self, factor: int) -> SignInPolicy:
        """The same policy with ``factor`` times the failures (for an address many people share)."""
        return SignInPolicy(self.lock_after * factor, self.lock_s, self.free * factor, self.max_wait_s)

    def next_try(self, record: SignInFailures | None) -> datetime | None:
        """When the subject may try again (None: now), after what it failed."""
        if record is None:
            return None
        if record.locked_until is not None and record.failures >= self.lock_after:
            return record.locked_until
        if record.failures < self.free:
            return None
        wait = min(2.0 ** (record.failures - self.free), self.max_wait_s)
        return record.last_at + timedelta(seconds=wait)
