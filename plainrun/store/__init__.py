"""The store: one interface of domain operations, with a SQLite and a PostgreSQL backend."""

from __future__ import annotations

from plainrun.store.sql import SqlStore

__all__ = ["SqlStore", "open_store"]


def open_store(database_url: str) -> SqlStore:
    """The store for a database URL (``sqlite:///…`` or ``postgresql+psycopg://…``)."""
    if database_url.startswith("sqlite"):
        from plainrun.store.sqlite import SqliteStore

        return SqliteStore(database_url)
    from plainrun.store.postgres import PostgresStore

    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return PostgresStore(database_url)
