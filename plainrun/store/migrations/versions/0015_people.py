"""the people's side of runs: exception routing, who remembered an answer and which one answered a
run, users' e-mail addresses, and the indexes of the Guidance Center and the all-runs page

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from plainrun.store.schema import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_WAITING = "state = 'AwaitingGuidance'"


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.add_column("runs", sa.Column("learning_id", sa.String(26), nullable=True))
    op.add_column("learnings", sa.Column("created_by", sa.String(100), nullable=True))
    op.add_column("users", sa.Column("email", sa.String(254), nullable=True))
    op.create_index(
        "ix_runs_agent_list",
        "runs",
        ["agent_id", "archived", "id", "trigger", "state", "process_id", "created_at"],
    )
    op.create_index(
        "ix_runs_waiting",
        "runs",
        ["agent_id", "id"],
        postgresql_where=sa.text(_WAITING),
        sqlite_where=sa.text(_WAITING),
    )
    op.create_table(
        "routing",
        sa.Column("process_id", sa.String(26), nullable=False),
        sa.Column("agent_id", sa.String(26), nullable=False),
        sa.Column("assignees", json, nullable=False),
        sa.Column("notify", json, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_routing_process_id_processes")
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_routing_agent_id_agents")),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_routing")),
    )
    op.create_index("ix_routing_agent", "routing", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_routing_agent", table_name="routing")
    op.drop_table("routing")
    op.drop_index("ix_runs_waiting", table_name="runs")
    op.drop_index("ix_runs_agent_list", table_name="runs")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("learnings") as batch:
        batch.drop_column("created_by")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("learning_id")
