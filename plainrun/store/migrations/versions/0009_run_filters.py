"""indexes for the runs list filtered by state or trigger (a rare state or trigger among many runs)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_process_state_list", "runs", ["process_id", "state", "archived", "id"])
    op.create_index("ix_runs_process_trigger_list", "runs", ["process_id", "trigger", "archived", "id"])


def downgrade() -> None:
    op.drop_index("ix_runs_process_trigger_list", table_name="runs")
    op.drop_index("ix_runs_process_state_list", table_name="runs")
