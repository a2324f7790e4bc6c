"""Resource ids: 25 lowercase base-36 characters that sort by creation time.

The first 9 characters are the creation time in milliseconds (enough until the year 5188), the last
16 are random (about 82 bits). Ids made in one process within the same millisecond still sort in the
order they were made, because the random part then counts up from the previous id's.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
LENGTH = 25
_TIME_CHARS = 9
_RAND_CHARS = LENGTH - _TIME_CHARS
_RAND_SPACE = 36**_RAND_CHARS
ID_PATTERN = re.compile(r"^[0-9a-z]{25}$")
# The seed spec's pattern for every id it accepts.
SPEC_ID_PATTERN = re.compile(r"^[a-zA-Z0-9-_]+$")

_lock = threading.Lock()
_last = (0, 0)


def _b36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(ALPHABET[r])
    return "".join(reversed(out))


def new_id(now_ms: int | None = None) -> str:
    """A new id; monotonic within this process."""
    global _last
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        last_ms, last_rand = _last
        if ms <= last_ms:
            ms, rand = last_ms, last_rand + 1 + secrets.randbelow(1 << 16)
            if rand >= _RAND_SPACE:  # pragma: no cover - needs 2**82 ids in one millisecond
                ms, rand = ms + 1, secrets.randbelow(_RAND_SPACE // 2)
        else:
            rand = secrets.randbelow(_RAND_SPACE // 2)
        _last = (ms, rand)
    return _b36(ms, _TIME_CHARS) + _b36(rand, _RAND_CHARS)


def made_at(ms: int) -> str:
    """An id of the moment ``ms`` whatever ids this process made before (not monotonic): for rows
    made after the fact, as a benchmark's or a test's."""
    return _b36(max(ms, 0), _TIME_CHARS) + _b36(secrets.randbelow(_RAND_SPACE), _RAND_CHARS)


def id_time_ms(resource_id: str) -> int:
    """The creation time (ms since the epoch) encoded in an id."""
    return int(resource_id[:_TIME_CHARS], 36)


def floor(ms: int) -> str:
    """The smallest id made at ``ms`` (ms since the epoch): ids made from then on are not below it."""
    return _b36(max(ms, 0), _TIME_CHARS) + "0" * _RAND_CHARS


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
