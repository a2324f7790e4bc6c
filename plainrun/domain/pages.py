"""Signed, opaque tokens, and the one paging scheme of every list (runs, processes, test runs, the UI).

A token is ``base64url(json payload) + "." + base64url(hmac-sha256)``. It is opaque to clients;
its signature makes forging one impossible. Lists are newest first in keyset pages: a continuation
token holds the last key of its page *and the query it was issued for*, so a token replayed against
another query (another process, stage or filter) is refused, and a page costs the same at row 10 as
at row 10,000,000.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from plainrun.errors import InvalidToken

T = TypeVar("T")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes, purpose: str):
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:20])

    def sign(self, payload: dict[str, Any], *, ttl_s: float | None = None) -> str:
        if ttl_s is not None:
            payload = {**payload, "exp": int(time.time() + ttl_s)}
        body = _b64(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
        return f"{body}.{self._mac(body)}"

    def unsign(self, token: str, *, message: str = "The token is not valid.") -> dict[str, Any]:
        if not isinstance(token, str) or len(token) > 2048 or token.count(".") != 1 or not token.isascii():
            raise InvalidToken(message)
        body, mac = token.split(".")
        if not hmac.compare_digest(self._mac(body), mac):
            raise InvalidToken(message)
        try:
            payload = orjson.loads(_unb64(body))
        except (ValueError, orjson.JSONDecodeError) as exc:  # pragma: no cover - signed bodies are ours
            raise InvalidToken(message) from exc
        if not isinstance(payload, dict):  # pragma: no cover - signed bodies are ours
            raise InvalidToken(message)
        exp = payload.pop("exp", None)
        if exp is not None and exp < time.time():
            raise InvalidToken("The token has expired.")
        return payload


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and the token of the next (None on the last page)."""

    items: list[T]
    continuation_token: str | None


class Pager:
    """Keyset pages of one kind of list, with continuation tokens bound to their query."""

    def __init__(self, secret: bytes, kind: str):
        self._signer = Signer(secret, f"{kind}-page")

    def position(self, token: str | None, query: Mapping[str, Any]) -> str | None:
        """The last key of the page before, from its token; a forged token, or one issued for
        another query, is refused."""
        if token is None:
            return None
        payload = self._signer.unsign(token, message="The continuation token is not valid.")
        key = payload.pop("k", None)
        if not isinstance(key, str) or payload != dict(query):
            raise InvalidToken("The continuation token belongs to another query.")
        return key

    def page(
        self, rows: Sequence[T], limit: int, query: Mapping[str, Any], key: Callable[[T], str]
    ) -> Page[T]:
        """A page of ``limit`` rows from ``limit + 1`` read: a next page exists when the extra one does."""
        token = self._signer.sign({**query, "k": key(rows[limit - 1])}) if len(rows) > limit else None
        return Page(items=list(rows[:limit]), continuation_token=token)
