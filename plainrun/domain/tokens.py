"""Signed, opaque tokens: continuation tokens for keyset pagination and upload tokens.

A token is ``base64url(json payload) + "." + base64url(hmac-sha256)``. It is opaque to clients;
its signature makes forging one impossible, and the query it was issued for is inside it, so a token
replayed against another query (another process, stage or filter) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import orjson

from plainrun.errors import InvalidToken


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
