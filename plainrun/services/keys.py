"""API keys: made once and shown once, stored only as a hash, scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from plainrun.domain.agents import ApiKey
from plainrun.errors import NotFound, Unauthenticated
from plainrun.services.access import Principal
from plainrun.store import Store

KEY_PREFIX = "prk_"


def hash_key(plaintext: str) -> str:
    # Keys are 190 random bits, so a fast hash is as safe as a slow one and keeps auth cheap.
    return hashlib.sha256(plaintext.encode()).hexdigest()


class KeyService:
    def __init__(self, store: Store, *, cache_s: float = 2.0):
        self.store = store
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def create(self, *, agent_id: str | None, name: str = "default") -> tuple[ApiKey, str]:
        """Make a key; the plaintext is returned here and never again."""
        if agent_id is not None and self.store.agents.get(agent_id) is None:
            raise NotFound("The agent was not found.")
        plaintext = KEY_PREFIX + secrets.token_urlsafe(24)
        key = self.store.agents.create_key(
            agent_id=agent_id, name=name, prefix=plaintext[:12], key_hash=hash_key(plaintext)
        )
        return key, plaintext

    def cached(self, plaintext: str) -> Principal | None:
        """The principal of a key checked within the last ``cache_s`` seconds (no database call)."""
        if not plaintext or len(plaintext) > 200:
            return None
        cached = self._cache.get(hash_key(plaintext))
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def authenticate(self, plaintext: str | None) -> Principal:
        if not plaintext or len(plaintext) > 200:
            raise Unauthenticated()
        digest = hash_key(plaintext)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        key = self.store.agents.key_by_hash(digest)
        if key is None:
            raise Unauthenticated("The API key is not valid.")
        principal = Principal(key_id=key.id, agent_id=key.agent_id)
        if self._cache_s:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (now + self._cache_s, principal)
        return principal

    def revoke(self, key_id: str) -> None:
        if not self.store.agents.revoke_key(key_id):
            raise NotFound("The API key was not found or is already revoked.")
        with self._lock:
            self._cache = {h: v for h, v in self._cache.items() if v[1].key_id != key_id}

    def all(self) -> list[ApiKey]:
        return self.store.agents.keys()
