"""the Test Suite: test cases, test runs and their results

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from plainrun.store.schema import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "test_cases",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("agent_id", sa.String(length=26), nullable=False),
        sa.Column("process_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("inputs", _json(), nullable=False),
        sa.Column("file_ids", _json(), nullable=False),
        sa.Column("expected", _json(), nullable=False),
        sa.Column("source_run_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_test_cases_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_test_cases_process_id_processes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_cases")),
    )
    op.create_index("ix_test_cases_process", "test_cases", ["process_id", "id"])
    op.create_table(
        "test_runs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("agent_id", sa.String(length=26), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("process_ids", _json(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_test_runs_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_runs")),
    )
    op.create_index("ix_test_runs_agent", "test_runs", ["agent_id", "id"])
    op.create_table(
        "test_results",
        sa.Column("test_run_id", sa.String(length=26), nullable=False),
        sa.Column("test_case_id", sa.String(length=26), nullable=False),
        sa.Column("process_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("diff", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["test_run_id"], ["test_runs.id"], name=op.f("fk_test_results_test_run_id_test_runs")
        ),
        sa.PrimaryKeyConstraint("test_run_id", "test_case_id", name=op.f("pk_test_results")),
    )


def downgrade() -> None:
    op.drop_table("test_results")
    op.drop_index("ix_test_runs_agent", "test_runs")
    op.drop_table("test_runs")
    op.drop_index("ix_test_cases_process", "test_cases")
    op.drop_table("test_cases")
