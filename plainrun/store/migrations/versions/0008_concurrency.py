"""per-process concurrency limit: processes.max_concurrent_runs and the indexes its claim uses

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("processes", sa.Column("max_concurrent_runs", sa.Integer(), nullable=True))
    op.create_index(
        "ix_processes_limited",
        "processes",
        ["id"],
        postgresql_where=sa.text("max_concurrent_runs IS NOT NULL"),
        sqlite_where=sa.text("max_concurrent_runs IS NOT NULL"),
    )
    op.create_index(
        "ix_runs_active",
        "runs",
        ["process_id", "state", "id"],
        postgresql_where=sa.text("state IN ('Pending', 'Running')"),
        sqlite_where=sa.text("state IN ('Pending', 'Running')"),
    )
    # The limit was already accepted as the setting max_concurrency: carry it over.
    processes = sa.table(
        "processes",
        sa.column("id", sa.String),
        sa.column("settings", sa.JSON),
        sa.column("max_concurrent_runs", sa.Integer),
    )
    conn = op.get_bind()
    for process_id, settings in conn.execute(sa.select(processes.c.id, processes.c.settings)).all():
        limit = (settings or {}).get("max_concurrency")
        if isinstance(limit, int | float) and not isinstance(limit, bool) and limit >= 1:
            conn.execute(
                processes.update().where(processes.c.id == process_id).values(max_concurrent_runs=int(limit))
            )


def downgrade() -> None:
    op.drop_index("ix_runs_active", table_name="runs")
    op.drop_index("ix_processes_limited", table_name="processes")
    op.drop_column("processes", "max_concurrent_runs")
