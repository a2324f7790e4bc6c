"""File contents, in each storage: local folder, the database (SQLite and PostgreSQL), S3 (a local
S3-compatible server). Streamed both ways, bounded, and nothing left behind by a refused upload."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from plainrun.domain import ids
from plainrun.errors import NotFound, TooLarge
from plainrun.store import Store, open_store
from plainrun.store.blobs import CHUNK_BYTES, BlobPlace, BlobStorage, open_blobs
from tests.conftest import migrated_sqlite, s3_place


@pytest.fixture(params=["local", "database-sqlite", "database-postgres", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStorage]:
    kind = str(request.param)
    url = request.getfixturevalue("pg_url") if kind == "database-postgres" else migrated_sqlite(tmp_path)
    store: Store = open_store(url)
    store.create_schema()
    s3 = s3_place(request.getfixturevalue("s3_endpoint")) if kind == "s3" else None
    place = BlobPlace(kind=kind.split("-")[0], root=str(tmp_path / "files"), s3=s3)  # type: ignore[arg-type]
    yield open_blobs(place, store)
    store.dispose()


def _pieces(size: int, piece: int = 300_001) -> Iterator[bytes]:
    """``size`` bytes that differ from place to place, in odd-sized pieces."""
    made = 0
    while made < size:
        n = min(piece, size - made)
        yield os.urandom(16) * (n // 16) + os.urandom(n % 16)
        made += n


def test_contents_stream_in_and_out_whole(blobs: BlobStorage) -> None:
    file_id = ids.new_id()
    sent = b"".join(_pieces(CHUNK_BYTES * 9 + 12345))  # several chunks, and several S3 parts
    size, sha = blobs.put(
        file_id, iter([sent[i : i + 65536] for i in range(0, len(sent), 65536)]), max_bytes=len(sent)
    )
    assert (size, sha) == (len(sent), hashlib.sha256(sent).hexdigest())
    with blobs.open(file_id) as stream:
        got = bytearray()
        while piece := stream.read(100_000):  # read in pieces, never asked for whole
            assert len(piece) <= 100_000
            got += piece
    assert bytes(got) == sent
    empty = ids.new_id()
    assert blobs.put(empty, iter([]), max_bytes=10) == (0, hashlib.sha256(b"").hexdigest())
    with blobs.open(empty) as stream:
        assert stream.read() == b""
    blobs.delete(file_id)
    with pytest.raises(NotFound):
        blobs.open(file_id)


def test_an_upload_over_its_bound_is_refused_and_leaves_nothing(blobs: BlobStorage) -> None:
    file_id = ids.new_id()
    with pytest.raises(TooLarge):
        blobs.put(file_id, _pieces(CHUNK_BYTES * 9), max_bytes=CHUNK_BYTES * 9 - 1)
    with pytest.raises(NotFound):
        blobs.open(file_id)
    with pytest.raises(NotFound):
        blobs.open(ids.new_id())
