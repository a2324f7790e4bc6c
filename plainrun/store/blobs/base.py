"""The file storages' interface, what names a storage, and the size contents move in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, Protocol

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


def read_chunks(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk
