"""the home page's roll-up of past days (run_days, run_days_open), and an index of run names for a
search by name (runs.name_key: pg_trgm's trigrams on PostgreSQL, an FTS5 trigram table on SQLite)

``runs.name_key`` is the name case-folded (``domain/runs.py``, ``name_key``); the older runs get it
here. On SQLite, ``run_names`` is an FTS5 table whose content is ``runs.name_key`` by rowid, kept by
three triggers on ``runs``: a later migration that rebuilds ``runs`` on SQLite (a batch operation
that copies the table) drops them, and must make them again with :func:`sqlite_names` and rebuild
the index.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from plainrun.domain.runs import name_key

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_BATCH = 5000

SQLITE_NAMES = [
    "CREATE VIRTUAL TABLE run_names USING fts5("
    "name_key, content='runs', content_rowid='rowid', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER run_names_insert AFTER INSERT ON runs BEGIN "
    "INSERT INTO run_names(rowid, name_key) VALUES (new.rowid, new.name_key); END",
    "CREATE TRIGGER run_names_delete AFTER DELETE ON runs BEGIN "
    "INSERT INTO run_names(run_names, rowid, name_key) VALUES ('delete', old.rowid, old.name_key); END",
    "CREATE TRIGGER run_names_update AFTER UPDATE OF name_key ON runs BEGIN "
    "INSERT INTO run_names(run_names, rowid, name_key) VALUES ('delete', old.rowid, old.name_key); "
    "INSERT INTO run_names(rowid, name_key) VALUES (new.rowid, new.name_key); END",
    "INSERT INTO run_names(run_names) VALUES ('rebuild')",
]


def sqlite_names(conn: sa.Connection) -> None:
    """The FTS5 index of the runs' names and the triggers that keep it, filled from ``runs``."""
    for statement in SQLITE_NAMES:
        conn.exec_driver_sql(statement)


def _fill_name_keys(conn: sa.Connection) -> None:
    runs = sa.table("runs", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("name_key"))
    after = ""
    while True:
        rows = conn.execute(
            sa.select(runs.c.id, runs.c.name).where(runs.c.id > after).order_by(runs.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            runs.update().where(runs.c.id == sa.bindparam("b_id")).values(name_key=sa.bindparam("b_key")),
            [{"b_id": run_id, "b_key": name_key(name)} for run_id, name in rows],
        )
        after = rows[-1][0]


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.add_column("runs", sa.Column("name_key", sa.Text(), nullable=True))
    conn = op.get_bind()
    _fill_name_keys(conn)
    if conn.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_runs_name_trgm",
            "runs",
            ["name_key"],
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        )
    else:
        sqlite_names(conn)
    op.create_table(
        "run_days",
        sa.Column("agent_id", sa.String(26), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("process_id", sa.String(26), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("durations", json, nullable=True),
        sa.PrimaryKeyConstraint("agent_id", "day", "process_id", "state", name="pk_run_days"),
    )
    op.create_table(
        "run_days_open",
        sa.Column("agent_id", sa.String(26), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "day", "run_id", name="pk_run_days_open"),
    )


def downgrade() -> None:
    op.drop_table("run_days_open")
    op.drop_table("run_days")
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.drop_index("ix_runs_name_trgm", table_name="runs")
    else:
        for trigger in ("run_names_insert", "run_names_delete", "run_names_update"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS run_names")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("name_key")
