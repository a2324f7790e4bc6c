"""an index for the per-process bound of e-mail received a minute

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mail_messages_received", "mail_messages", ["process_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_messages_received", table_name="mail_messages")
