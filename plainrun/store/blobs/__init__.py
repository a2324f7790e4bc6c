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

from pathlib import Path
from typing import TYPE_CHECKING

from plainrun.store.blobs.base import CHUNK_BYTES, BlobPlace, BlobStorage, Kind, S3Place, read_chunks

if TYPE_CHECKING:
    from plainrun.store.base import Store

__all__ = ["CHUNK_BYTES", "BlobPlace", "BlobStorage", "Kind", "S3Place", "open_blobs", "read_chunks"]


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
