"""The store: every domain operation on the database, one interface by concept (``base.Store``), one
implementation of its operations (``sql``) over two database backends (``sqlite``, ``postgres``)."""

from __future__ import annotations

from plainrun.store.base import Store

__all__ = ["Store", "modules", "open_store"]


def modules(database_url: str) -> list[str]:
    """The modules :func:`open_store` imports for ``database_url`` (the database layer: SQLAlchemy,
    the driver, every statement). A process that forks others imports them once beforehand, so
    that opening a store in a child costs no import (the worker's executor fork server does)."""
    return ["plainrun.store.sql", f"plainrun.store.{_backend(database_url)}"]


def _backend(database_url: str) -> str:
    """The backend module of a database URL: ``sqlite`` or ``postgres``."""
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


def open_store(database_url: str, *, fast: bool = True, sqlite_synchronous: str = "NORMAL") -> Store:
    """The store for a database URL (``sqlite:///…`` or ``postgresql[+psycopg]://…``).

    ``fast``: run statements on the driver's cursor (``plainrun.store.fast``), else through
    SQLAlchemy's ``Connection``. ``sqlite_synchronous``: SQLite's ``PRAGMA synchronous``.
    """
    from plainrun.store.database import Database
    from plainrun.store.sql import SqlStore

    database: Database
    if _backend(database_url) == "sqlite":
        from plainrun.store.sqlite import SqliteDatabase

        database = SqliteDatabase(database_url, fast=fast, synchronous=sqlite_synchronous)
    else:
        from plainrun.store.postgres import PostgresDatabase

        database = PostgresDatabase(database_url, fast=fast)
    store: Store = SqlStore(database)
    return store
