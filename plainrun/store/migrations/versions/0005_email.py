"""e-mail to a process: addresses, sender permissions, accepted messages

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from plainrun.store.schema import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mail_addresses",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("process_id", sa.String(length=26), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_mail_addresses_process_id_processes")
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_mail_addresses_agent_id_agents")),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_mail_addresses")),
    )
    op.create_index(
        "ix_mail_addresses_active",
        "mail_addresses",
        ["process_id", "stage"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
        sqlite_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "mail_permissions",
        sa.Column("process_id", sa.String(length=26), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("senders", _json(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_mail_permissions_process_id_processes")
        ),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_mail_permissions")),
    )
    op.create_table(
        "mail_members",
        sa.Column("agent_id", sa.String(length=26), nullable=False),
        sa.Column("senders", _json(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_mail_members_agent_id_agents")),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_mail_members")),
    )
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("process_id", sa.String(length=26), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=26), nullable=True),
        sa.Column("facts", _json(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_mail_messages_process_id_processes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint("message_id", "token", name=op.f("uq_mail_messages_message_id_token")),
    )
    op.create_index("ix_mail_messages_lookup", "mail_messages", ["process_id", "stage", "message_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_messages_lookup", "mail_messages")
    op.drop_table("mail_messages")
    op.drop_table("mail_members")
    op.drop_table("mail_permissions")
    op.drop_index("ix_mail_addresses_active", "mail_addresses")
    op.drop_table("mail_addresses")
