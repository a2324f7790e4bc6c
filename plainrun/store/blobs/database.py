"""File contents in the database (the default on PostgreSQL): every host reads every file.

A file's bytes are rows of ``file_chunks``, ``CHUNK_BYTES`` each, written a chunk per transaction
as they arrive and read a chunk at a time, so neither an upload nor a download holds a whole file in
memory, and no transaction holds the database for the length of a large upload. A failed or
oversized upload leaves no chunk behind.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from plainrun.errors import NotFound, TooLarge
from plainrun.store.blobs.base import CHUNK_BYTES, Kind

if TYPE_CHECKING:
    from plainrun.store.base import Store


def rechunk(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The same bytes in pieces of ``size`` (the last one shorter; at least one, maybe empty)."""
    buffer = bytearray()
    sent = False
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
            sent = True
    if buffer or not sent:
        yield bytes(buffer)


class DatabaseBlobStorage:
    kind: Kind = "database"

    def __init__(self, store: Store):
        self.store = store

    def put(self, file_id: str, chunks: Iterator[bytes], *, max_bytes: int) -> tuple[int, str]:
        digest, size = hashlib.sha256(), 0
        self.store.files.delete_chunks(file_id)
        try:
            for seq, chunk in enumerate(rechunk(chunks, CHUNK_BYTES)):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"The file is larger than {max_bytes} bytes.")
                digest.update(chunk)
                self.store.files.add_chunk(file_id, seq, chunk)
        except BaseException:
            self.store.files.delete_chunks(file_id)
            raise
        return size, digest.hexdigest()

    def open(self, file_id: str) -> BinaryIO:
        first = self.store.files.chunk(file_id, 0)
        if first is None:
            raise NotFound("The file's content was not found.")
        raw = _Chunks(self.store, file_id, first)
        return io.BufferedReader(raw, buffer_size=CHUNK_BYTES)

    def check(self) -> None:
        self.store.files.chunk("", 0)  # the store's error when the database cannot be reached

    def delete(self, file_id: str) -> None:
        self.store.files.delete_chunks(file_id)


class _Chunks(io.RawIOBase):
    """A file's chunks as a stream, fetched one at a time as they are read."""

    def __init__(self, store: Store, file_id: str, first: bytes):
        self.store, self.file_id = store, file_id
        self._current, self._at, self._next = first, 0, 1
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._at >= len(self._current):
            if self._ended:
                return 0
            following = self.store.files.chunk(self.file_id, self._next)
            if following is None:
                self._ended = True
                return 0
            self._current, self._at, self._next = following, 0, self._next + 1
        n = min(len(target), len(self._current) - self._at)
        target[:n] = self._current[self._at : self._at + n]
        self._at += n
        return n
