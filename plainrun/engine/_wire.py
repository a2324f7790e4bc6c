"""The framing between the pool and its executor processes.

A frame is a 4-byte big-endian length followed by that many bytes of JSON (the codec of
``plainrun.domain.storable``: orjson, whole numbers exact at any size). Both sides use the same
header; the parent reads frames incrementally from its event loop, the child with blocking reads.
"""

from __future__ import annotations

import struct
from typing import Any

from plainrun.domain.storable import dumps, loads

HEADER = struct.Struct(">I")
MAX_FRAME = 0xFFFF_FFFF


def encode(message: Any) -> bytes:
    """One frame for ``message``; raises TypeError when it is not JSON-able."""
    body = dumps(message)
    return HEADER.pack(len(body)) + body


class FrameBuffer:
    """Accumulates received bytes and yields the complete frames' decoded messages."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes | memoryview) -> list[Any]:
        buf = self._buf
        if not buf and len(data) >= 4:
            # Fast path: the data is exactly one whole frame (the common case for small results).
            (size,) = HEADER.unpack_from(data)
            if len(data) == size + 4:
                return [loads(data[4:])]
        buf += data
        messages: list[Any] = []
        start = 0
        end = len(buf)
        view = memoryview(buf)
        try:
            while end - start >= 4:
                (size,) = HEADER.unpack_from(buf, start)
                if end - start - 4 < size:
                    break
                messages.append(loads(view[start + 4 : start + 4 + size]))
                start += 4 + size
        finally:
            view.release()
        if start:
            del buf[:start]
        return messages
