"""Files' records (their contents live in file storage, ``plainrun.store.blobs``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import sqlalchemy as sa

from plainrun.domain.files import FileRecord
from plainrun.errors import NotFound
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param, params_in

f = t.files.c
_INSERT = sa.insert(t.files)
_FILES = sa.select(t.files).where(f.id.in_(params_in(f.id, "ids")))
_FILE = sa.select(t.files).where(f.id == param(f.id))
_READY = (
    sa.update(t.files)
    .where(f.id == param(f.id, "b_id"))
    .values(ready=True, size=param(f.size), sha256=param(f.sha256))
)


class FilesSql(Part):
    def create(self, record: FileRecord) -> FileRecord:
        with self.db.write() as tx:
            tx.run(_INSERT, asdict(record))
        return record

    def get_many(self, file_ids: Sequence[str]) -> dict[str, FileRecord]:
        if not file_ids:
            return {}
        with self.db.read() as tx:
            rows = tx.rows(_FILES, {"ids": list(file_ids)})
        return {r["id"]: FileRecord(**r) for r in rows}

    def get(self, file_id: str) -> FileRecord | None:
        with self.db.read() as tx:
            row = tx.first(_FILE, {"id": file_id})
        return FileRecord(**row) if row else None

    def mark_ready(self, file_id: str, *, size: int, sha256: str) -> FileRecord:
        """The file's contents arrived: its size and hash."""
        with self.db.write() as tx:
            tx.run(_READY, {"b_id": file_id, "size": size, "sha256": sha256})
            row = tx.first(_FILE, {"id": file_id})
        if row is None:
            raise NotFound("The file was not found.")
        return FileRecord(**row)
