"""Files: upload targets in the manner of an S3 presigned POST, contents in blob storage."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from plainrun import ids
from plainrun.blobs import BlobStorage
from plainrun.domain.tokens import Signer
from plainrun.errors import Conflict, InvalidInput, NotFound
from plainrun.services.access import Principal
from plainrun.store.records import FileRecord
from plainrun.store.sql import SqlStore, utcnow

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_filename(name: str) -> str:
    """A file name safe to show and to offer as a download name (it is never used as a path)."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip(" .")
    name = name.lstrip(".") or "file"
    return name[:255]


@dataclass(frozen=True, slots=True)
class UploadTarget:
    file: FileRecord
    url: str
    fields: dict[str, str]
    method: str = "POST"


class FileService:
    def __init__(
        self, store: SqlStore, blobs: BlobStorage, *, secret: bytes, base_url: str, max_bytes: int, ttl_s: int
    ):
        self.store = store
        self.blobs = blobs
        self.base_url = base_url
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._uploads = Signer(secret, "file-upload")

    def _check_agent(self, principal: Principal, agent_id: str) -> None:
        if not principal.can_see(agent_id) or self.store.get_agent(agent_id) is None:
            raise NotFound("The agent was not found.")

    def create_upload(
        self, principal: Principal, *, agent_id: str, name: str, content_type: str
    ) -> UploadTarget:
        self._check_agent(principal, agent_id)
        record = self.store.create_file(
            FileRecord(
                id=ids.new_id(),
                agent_id=agent_id,
                name=clean_filename(name),
                content_type=content_type or "application/octet-stream",
                size=None,
                sha256=None,
                ready=False,
                created_at=utcnow(),
            )
        )
        token = self._uploads.sign({"f": record.id}, ttl_s=self.ttl_s)
        return UploadTarget(
            file=record,
            url=f"{self.base_url}/v2/files/{record.id}/upload",
            fields={"key": record.id, "token": token},
        )

    def receive(self, file_id: str, *, token: str, key: str | None, chunks: Iterator[bytes]) -> FileRecord:
        """Store an upload made against a target; the token alone authorises it, like a presigned POST."""
        payload = self._uploads.unsign(token, message="The upload token is not valid.")
        if payload.get("f") != file_id or (key is not None and key != file_id):
            raise InvalidInput("The upload token is for another file.")
        record = self.store.get_file(file_id)
        if record is None:
            raise NotFound("The file was not found.")
        if record.ready:
            raise Conflict("The file was already uploaded.")
        size, sha256 = self.blobs.put(file_id, chunks, max_bytes=self.max_bytes)
        return self.store.mark_file_ready(file_id, size=size, sha256=sha256)

    def put(
        self, principal: Principal, *, agent_id: str, name: str, content_type: str, data: bytes
    ) -> FileRecord:
        """Store a file in one step (CLI, e-mail attachments, files a process writes)."""
        target = self.create_upload(principal, agent_id=agent_id, name=name, content_type=content_type)
        return self.receive(target.file.id, token=target.fields["token"], key=None, chunks=iter([data]))

    def get(self, principal: Principal, file_id: str) -> FileRecord:
        record = self.store.get_file(file_id) if ids.is_id(file_id) else None
        if record is None or not principal.can_see(record.agent_id):
            raise NotFound("The file was not found.")
        return record

    def open(self, principal: Principal, file_id: str) -> tuple[FileRecord, BinaryIO]:
        record = self.get(principal, file_id)
        if not record.ready:
            raise NotFound("The file has not been uploaded yet.")
        return record, self.blobs.open(file_id)
