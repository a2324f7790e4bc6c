"""Where file contents live: behind one small interface, in one of three storages.

- ``database`` (the default on PostgreSQL): in the database itself, in chunks of ``CHUNK_BYTES``,
  written and read a chunk at a time (never whole in memory), so every host of an installation
  reads every file;
- ``s3``: an S3-compatible object store (a setting: bucket, endpoint, region, credentials);
- ``local`` (the default on SQLite): a folder of the data directory, for one machine.

Contents are named by their file id only: a file's own name is metadata, never a path.
``plainrun files migrate`` copies every file's contents from one storage to another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

if TYPE_CHECKING:
    from plainrun.store.base import Store

Kind = Literal["local", "database", "s3"]
#: The size of the pieces contents are read and written in.
CHUNK_BYTES = 1024 * 1024


class BlobStorage(Protocol):
    kind: Kind

    def put(self, file_id: str, chunks: Iterator[bytes], *, max_bytes: int) -> tuple[int, str]:
        """Store the chunks; returns (size, sha256). Over ``max_bytes`` raises TooLarge, keeping nothing."""
        ...

    def open(self, file_id: str) -> BinaryIO:
        """The contents, to read in pieces; NotFound when there are none."""
        ...

    def delete(self, file_id: str) -> None: ...

    def check(self) -> None:
        """Raise (the store's errors) unless the storage can be reached now."""
        ...


@dataclass(frozen=True, slots=True)
class S3Place:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


@dataclass(frozen=True, slots=True)
class BlobPlace:
    """Which storage holds an installation's file contents, and where (JSON-able, for executors)."""

    kind: Kind
    #: The local storage's folder.
    root: str
    s3: S3Place | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "root": self.root,
            "s3": None if self.s3 is None else {k: getattr(self.s3, k) for k in S3Place.__dataclass_fields__},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlobPlace:
        s3 = data.get("s3")
        return cls(kind=data["kind"], root=data["root"], s3=S3Place(**s3) if s3 else None)


def open_blobs(place: BlobPlace, store: Store) -> BlobStorage:
    """The storage a place names (the database one works through ``store``)."""
    if place.kind == "local":
        from plainrun.store.blobs.local import LocalBlobStorage

        return LocalBlobStorage(Path(place.root))
    if place.kind == "database":
        from plainrun.store.blobs.database import DatabaseBlobStorage

        return DatabaseBlobStorage(store)
    from plainrun.store.blobs.s3 import S3BlobStorage

    assert place.s3 is not None
    return S3BlobStorage(place.s3)


def read_chunks(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk
