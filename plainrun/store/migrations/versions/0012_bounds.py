"""failed sign-ins shared by every server; an agent's bytes of files read from an index

Revision ID: 0012
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plainrun.store.schema import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=False),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_last", "sign_in_failures", ["last_at"])
    op.create_index("ix_files_agent_size", "files", ["agent_id", "size"])


def downgrade() -> None:
    op.drop_index("ix_files_agent_size", "files")
    op.drop_index("ix_sign_in_failures_last", "sign_in_failures")
    op.drop_table("sign_in_failures")
