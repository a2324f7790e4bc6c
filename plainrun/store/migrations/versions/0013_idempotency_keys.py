"""idempotency keys: what the first request with a key started, kept per agent for 24 hours; file
names of up to 256 characters (Kognitos's bound)

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from plainrun.store.schema import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("agent_id", sa.String(26), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    with op.batch_alter_table("files") as batch:
        batch.alter_column(
            "name", type_=sa.String(256), existing_type=sa.String(255), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.alter_column(
            "name", type_=sa.String(255), existing_type=sa.String(256), existing_nullable=False
        )
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
