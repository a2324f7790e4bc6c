"""File contents in a folder of the data directory (the default on SQLite: one machine)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from plainrun.domain import ids
from plainrun.errors import NotFound, StoreUnavailable, TooLarge
from plainrun.store.blobs.base import Kind


class LocalBlobStorage:
    kind: Kind = "local"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, file_id: str) -> Path:
        if not ids.is_id(file_id):
            raise NotFound("The file was not found.")
        return self.root / file_id[-2:] / file_id

    def put(self, file_id: str, chunks: Iterator[bytes], *, max_bytes: int) -> tuple[int, str]:
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        digest, size = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"The file is larger than {max_bytes} bytes.")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return size, digest.hexdigest()

    def open(self, file_id: str) -> BinaryIO:
        try:
            return open(self._path(file_id), "rb")
        except FileNotFoundError as exc:
            raise NotFound("The file's content was not found.") from exc

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StoreUnavailable(f"The file folder {self.root} cannot be written.")

    def delete(self, file_id: str) -> None:
        self._path(file_id).unlink(missing_ok=True)
