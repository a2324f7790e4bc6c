"""Versioned migrations (Alembic), run programmatically against a database's engine."""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    if revision == "head" and current(engine) == head():
        return  # nothing to run (and Alembic need not read every migration to find that out)
    config = _config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def current(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return _scripts().get_current_head()


@functools.cache
def _scripts() -> ScriptDirectory:
    """The migrations, read once per process (they do not change while it runs)."""
    return ScriptDirectory.from_config(_config())
