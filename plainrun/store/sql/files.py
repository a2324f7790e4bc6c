"""Files' records (their contents live in file storage, ``plainrun.store.blobs``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import sqlalchemy as sa

from plainrun.domain.files import FileRecord
from plainrun.errors import NotFound
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param, params_in

f, ch = t.files.c, t.file_chunks.c
_INSERT = sa.insert(t.files)
_FILES = sa.select(t.files).where(f.id.in_(params_in(f.id, "ids")))
_FILE = sa.select(t.files).where(f.id == param(f.id))
_READY = (
    sa.update(t.files)
    .where(f.id == param(f.id, "b_id"))
    .values(ready=True, size=param(f.size), sha256=param(f.sha256))
)


_ADD_CHUNK = sa.insert(t.file_chunks)
_CHUNK = sa.select(ch.data).where(ch.file_id == param(ch.file_id), ch.seq == param(ch.seq))
_DELETE_CHUNKS = sa.delete(t.file_chunks).where(ch.file_id == param(ch.file_id))
_READY_FILES = sa.select(t.files).where(f.ready.is_(True)).order_by(f.id)
_AGENT_BYTES = sa.select(sa.func.coalesce(sa.func.sum(f.size), 0)).where(f.agent_id == param(f.agent_id))
_DELETE = sa.delete(t.files).where(f.id == param(f.id))


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

    def ready_files(self) -> list[FileRecord]:
        """Every file whose contents arrived, oldest first (for moving contents between storages)."""
        with self.db.read() as tx:
            return [FileRecord(**row) for row in tx.rows(_READY_FILES)]

    def agent_bytes(self, agent_id: str) -> int:
        """The bytes of all the agent's files (its quota's use)."""
        with self.db.read() as tx:
            return int(tx.scalar(_AGENT_BYTES, {"agent_id": agent_id}) or 0)

    def delete(self, file_id: str) -> None:
        """Forget a file's record (one whose contents never arrived)."""
        with self.db.write() as tx:
            tx.run(_DELETE, {"id": file_id})

    # --- contents in the database (the ``database`` file storage) -------------------------------

    def add_chunk(self, file_id: str, seq: int, data: bytes) -> None:
        with self.db.write() as tx:
            tx.run(_ADD_CHUNK, {"file_id": file_id, "seq": seq, "data": data})

    def chunk(self, file_id: str, seq: int) -> bytes | None:
        """Chunk ``seq`` of a file's contents, or None past the last one."""
        with self.db.read() as tx:
            data = tx.scalar(_CHUNK, {"file_id": file_id, "seq": seq})
        return bytes(data) if data is not None else None

    def delete_chunks(self, file_id: str) -> None:
        with self.db.write() as tx:
            tx.run(_DELETE_CHUNKS, {"file_id": file_id})

    def mark_ready(self, file_id: str, *, size: int, sha256: str) -> FileRecord:
        """The file's contents arrived: its size and hash."""
        with self.db.write() as tx:
            tx.run(_READY, {"b_id": file_id, "size": size, "sha256": sha256})
            row = tx.first(_FILE, {"id": file_id})
        if row is None:
            raise NotFound("The file was not found.")
        return FileRecord(**row)
