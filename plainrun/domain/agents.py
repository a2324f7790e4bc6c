"""Who owns and who reaches things: agents, API keys, and the users who sign in to the web UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
