"""What every concept's operations share: the database they run on, and parameters by name."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from plainrun.store.database import Database


class Part:
    """The operations of one concept, over one database; every method is one transaction."""

    def __init__(self, db: Database):
        self.db = db


def param(column: sa.Column[Any], name: str | None = None) -> sa.BindParameter[Any]:
    """A named parameter of a column's type (statements are built once, values given per call)."""
    return sa.bindparam(name or column.key, type_=column.type)


def params_in(column: sa.Column[Any], name: str) -> sa.BindParameter[Any]:
    """A list parameter for ``column IN (…)`` of the column's type."""
    return sa.bindparam(name, type_=column.type, expanding=True)
