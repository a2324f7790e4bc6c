"""the home page's roll-up of past days (run_days, run_days_open), and the runs' folded names for a
search by name (runs.name_key: pg_trgm's trigrams on PostgreSQL; on SQLite the last column of
ix_runs_agent_list, which a search reads alone)

``runs.name_key`` is the name case-folded (``domain/runs.py``, ``name_key``); the older runs get it
here.

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

_LIST_BEFORE = ["agent_id", "archived", "id", "trigger", "state", "process_id", "created_at"]


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
    op.drop_index("ix_runs_agent_list", table_name="runs")
    op.create_index("ix_runs_agent_list", "runs", [*_LIST_BEFORE, "name_key"])
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
    op.drop_index("ix_runs_agent_list", table_name="runs")
    op.create_index("ix_runs_agent_list", "runs", _LIST_BEFORE)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("name_key")
