"""Shared fixtures: a fresh database per test on SQLite and on the machine's PostgreSQL, each a copy
of a database migrated once per session (migrating costs far more than copying).

PostgreSQL tests use the real server (``PLAINRUN_TEST_PG``, default the local trust-auth server).
When it cannot be reached they are skipped on a developer's machine and fail under ``CI=true``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from plainrun.domain import ids
from plainrun.store import Store, open_store
from plainrun.store.blobs import S3Place

PG_ADMIN = os.environ.get("PLAINRUN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_counter = itertools.count()


def _pg_url(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + database


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that each PostgreSQL test copies (CREATE DATABASE … TEMPLATE)."""
    try:
        _admin("SELECT 1")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and cannot be reached: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    name = f"plainrun_t{os.getpid()}_tpl"
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(f"CREATE DATABASE {name}")
    store = open_store(_pg_url(name))
    store.create_schema()
    store.dispose()
    yield name
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    name = f"plainrun_t{os.getpid()}_{next(_counter)}"
    _admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield _pg_url(name)
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@functools.cache
def _sqlite_template() -> Path:
    """An SQLite database migrated once per process, which each SQLite test copies (as each
    PostgreSQL test copies ``pg_template``)."""
    directory = Path(tempfile.mkdtemp(prefix="plainrun-template-"))
    atexit.register(shutil.rmtree, directory, True)
    path = directory / "plainrun.db"
    store = open_store(f"sqlite:///{path}")
    store.create_schema()
    store.dispose()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    return path


def migrated_sqlite(directory: Path) -> str:
    """The URL of ``directory/plainrun.db``, a fresh migrated database unless it is there already."""
    path = directory / "plainrun.db"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return migrated_sqlite(tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")  # type: ignore[no-any-return]
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for a module whose tests share it: what they build once is only read (or
    refused) after, or each test has agents of its own."""
    if request.param == "sqlite":
        yield migrated_sqlite(tmp_path_factory.mktemp("db"))
        return
    template = request.getfixturevalue("pg_template")
    name = f"plainrun_t{os.getpid()}_m{next(_counter)}"
    _admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield _pg_url(name)
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = open_store(database_url)
    store.create_schema()
    yield store
    store.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server, in a process of its own, for the session."""
    port = _free_port()
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the local S3 server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def s3_place(endpoint: str) -> S3Place:
    """A fresh bucket on the local S3 server."""
    import boto3

    bucket = f"plainrun-{ids.new_id()}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    client.create_bucket(Bucket=bucket)
    return S3Place(bucket=bucket, endpoint_url=endpoint, access_key_id="k", secret_access_key="s")
