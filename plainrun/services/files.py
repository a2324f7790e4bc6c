"""Files: upload targets in the manner of an S3 presigned POST, contents in blob storage."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlencode

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.files import FileRecord, clean_content_type, clean_filename
from plainrun.domain.pages import Signer
from plainrun.errors import Conflict, InvalidInput, NotFound, TooLarge
from plainrun.services.access import Principal
from plainrun.services.agents import AgentService
from plainrun.store import Store
from plainrun.store.blobs import BlobStorage, read_chunks

__all__ = ["FileService", "UploadTarget", "read_chunks"]


@dataclass(frozen=True, slots=True)
class Moved:
    """What moving contents between storages did: files copied, found there already, missing."""

    copied: list[str]
    present: list[str]
    missing: list[str]


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """Where a file's contents go: ``method`` to ``url`` (which carries the signed token) with
    ``headers``, like a presigned PUT; or a multipart POST of ``fields`` and the file to ``url``."""

    file: FileRecord
    url: str
    fields: dict[str, str]
    headers: dict[str, str]
    method: str = "PUT"


class FileService:
    def __init__(
        self,
        store: Store,
        agents: AgentService,
        blobs: BlobStorage,
        *,
        secret: bytes,
        base_url: str,
        max_bytes: int,
        ttl_s: int,
        quota_bytes: int | None = None,
    ):
        self.store = store
        #: The bytes of files one agent may keep in all (uploaded, received, written by runs).
        self.quota_bytes = quota_bytes
        self.agents = agents
        self.blobs = blobs
        self.base_url = base_url
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._uploads = Signer(secret, "file-upload")

    def create_upload(
        self, principal: Principal, *, agent_id: str | None, name: str, content_type: str
    ) -> UploadTarget:
        """A file record and its upload target. ``agent_id`` may be left out with an agent's key."""
        agent_id = agent_id or principal.agent_id
        if agent_id is None:
            raise InvalidInput(
                "agent_id is required with an installation-wide API key.", details=[("agent_id", "")]
            )
        self.agents.get(principal, agent_id)
        record = self.store.files.create(
            FileRecord(
                id=ids.new_id(),
                agent_id=agent_id,
                name=clean_filename(name),
                content_type=clean_content_type(content_type),
                size=None,
                sha256=None,
                ready=False,
                created_at=utcnow(),
            )
        )
        token = self._uploads.sign({"f": record.id}, ttl_s=self.ttl_s)
        return UploadTarget(
            file=record,
            url=f"{self.base_url}/v2/files/{record.id}/upload?{urlencode({'token': token})}",
            fields={"key": record.id, "token": token},
            headers={"Content-Type": record.content_type},
        )

    def receive(self, file_id: str, *, token: str, key: str | None, chunks: Iterator[bytes]) -> FileRecord:
        """Store an upload made against a target; the token alone authorises it, like a presigned POST."""
        payload = self._uploads.unsign(token, message="The upload token is not valid.")
        if payload.get("f") != file_id or (key is not None and key != file_id):
            raise InvalidInput("The upload token is for another file.")
        record = self.store.files.get(file_id)
        if record is None:
            raise NotFound("The file was not found.")
        if record.ready:
            raise Conflict("The file was already uploaded.")
        room = self._room(record.agent_id)
        try:
            size, sha256 = self.blobs.put(file_id, chunks, max_bytes=min(self.max_bytes, room))
        except TooLarge:
            if room < self.max_bytes:
                raise TooLarge(
                    f"The agent's files would pass its quota of {self.quota_bytes} bytes "
                    f"(PLAINRUN_AGENT_QUOTA_BYTES); {max(room, 0)} bytes are left."
                ) from None
            raise
        return self.store.files.mark_ready(file_id, size=size, sha256=sha256)

    def _room(self, agent_id: str) -> int:
        """The bytes the agent may still store."""
        if self.quota_bytes is None:
            return self.max_bytes
        return max(self.quota_bytes - self.store.files.agent_bytes(agent_id), 0)

    def put(
        self, principal: Principal, *, agent_id: str, name: str, content_type: str, data: bytes
    ) -> FileRecord:
        """Store a file in one step (CLI, e-mail attachments, files a process writes); a file
        refused (over a bound, over the quota) leaves nothing behind, not even its record."""
        target = self.create_upload(principal, agent_id=agent_id, name=name, content_type=content_type)
        try:
            return self.receive(target.file.id, token=target.fields["token"], key=None, chunks=iter([data]))
        except BaseException:
            self.store.files.delete(target.file.id)
            raise

    def get(self, principal: Principal, file_id: str) -> FileRecord:
        record = self.store.files.get(file_id) if ids.is_id(file_id) else None
        if record is None or not principal.can_see(record.agent_id):
            raise NotFound("The file was not found.")
        return record

    def move_contents(
        self,
        source: BlobStorage,
        target: BlobStorage,
        *,
        delete: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> Moved:
        """Copy every file's contents from ``source`` to ``target``, streamed, each checked against
        its recorded hash; with ``delete``, each copied file's source contents are then removed.
        Files already in the target with the right hash are left as they are, so it can be run again."""
        copied, present, missing = [], [], []
        for record in self.store.files.ready_files():
            if _holds(target, record):
                present.append(record.id)
            else:
                try:
                    with source.open(record.id) as stream:
                        _, sha256 = target.put(
                            record.id, read_chunks(stream), max_bytes=max(record.size or 0, 1)
                        )
                except NotFound:
                    missing.append(record.id)
                    continue
                if sha256 != record.sha256:
                    target.delete(record.id)
                    raise Conflict(f"The contents of file {record.id} do not match its recorded hash.")
                copied.append(record.id)
            if delete and source.kind != target.kind:
                source.delete(record.id)
            if progress is not None:
                progress(record.id)
        return Moved(copied, present, missing)

    def open(self, principal: Principal, file_id: str) -> tuple[FileRecord, BinaryIO]:
        record = self.get(principal, file_id)
        if not record.ready:
            raise NotFound("The file has not been uploaded yet.")
        return record, self.blobs.open(file_id)


def _holds(storage: BlobStorage, record: FileRecord) -> bool:
    """Whether a storage has a file's contents, whole (its hash matches the record's)."""
    try:
        with storage.open(record.id) as stream:
            digest = hashlib.sha256()
            for chunk in read_chunks(stream):
                digest.update(chunk)
    except NotFound:
        return False
    return digest.hexdigest() == record.sha256
