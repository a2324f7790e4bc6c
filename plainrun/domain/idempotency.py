"""Idempotent starts: an ``Idempotency-Key`` sent with a request that starts runs (``POST /v2/runs``,
the bulk re-run) makes a retry of that request return what the first one did, for ``TTL``.

A key is kept per agent in the database, in the same transaction as the runs it started, so a retry
through another API server or after a restart finds it. The request is known by its fingerprint
(the operation and its body, canonically): the same key with another request is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from plainrun.domain import storable
from plainrun.errors import InvalidInput

#: How long a key is remembered; a retry after this starts afresh, and expired keys are swept.
TTL = timedelta(hours=24)
MAX_KEY = 255
#: The scope of the keys of requests made with an installation-wide API key that name no one agent
#: (the bulk re-run): no agent id has this form.
INSTALLATION = "*"


def check_key(value: str) -> str:
    """An ``Idempotency-Key`` header as given, or a 400 saying what one may be."""
    if not 1 <= len(value) <= MAX_KEY or not value.isascii() or not value.isprintable():
        raise InvalidInput(
            f"An Idempotency-Key is 1 to {MAX_KEY} printable ASCII characters (a UUID, say).",
            details=[("Idempotency-Key", value[:100])],
        )
    return value


def fingerprint(operation: str, body: Any) -> str:
    """What identifies a request: its operation and its body as JSON with sorted keys."""
    canonical = storable.dumps(_sorted(body))
    return hashlib.sha256(operation.encode() + b"\n" + canonical).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class Key:
    """A key as a request brings it: whose, which, for what request."""

    agent_id: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key as the store keeps it, with what its first request answered (``result``: the ids of
    the runs it started, or the bulk re-run's results)."""

    agent_id: str
    key: str
    fingerprint: str
    result: dict[str, Any]
    created_at: datetime
    expires_at: datetime

    @classmethod
    def first(cls, key: Key, result: dict[str, Any], now: datetime) -> KeyRecord:
        return cls(key.agent_id, key.key, key.fingerprint, result, now, now + TTL)
