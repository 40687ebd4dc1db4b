"""Broadcasts: broadcasts, the per-recipient delivery outbox, staff drafts, member preferences.

Revision ID: 0005_broadcasts
Revises: 0004_proposals
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0005_broadcasts"
down_revision: str | None = "0004_proposals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_kind", sa.String(16), nullable=True),
        sa.Column("media_ref", sa.String(256), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("audience_label", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("receipt", sa.Boolean(), nullable=False),
        sa.Column("remind_after_minutes", sa.Integer(), nullable=True),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_via", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("status_message_id", sa.BigInteger(), nullable=True),
        _fk("broadcasts", "parent_id", "broadcasts", "SET NULL"),
        _fk("broadcasts", "created_by", "members", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index(op.f("ix_broadcasts_state"), "broadcasts", ["state"])
    op.create_table(
        "broadcast_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(64), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("deferred", sa.Boolean(), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _fk("broadcast_deliveries", "broadcast_id", "broadcasts", "CASCADE"),
        _fk("broadcast_deliveries", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_deliveries")),
        sa.UniqueConstraint("broadcast_id", "member_id", name=op.f("uq_broadcast_deliveries_broadcast_id")),
    )
    op.create_index(op.f("ix_broadcast_deliveries_broadcast_id"), "broadcast_deliveries", ["broadcast_id"])
    op.create_index(op.f("ix_broadcast_deliveries_member_id"), "broadcast_deliveries", ["member_id"])
    op.create_index("ix_broadcast_deliveries_state_not_before", "broadcast_deliveries", ["state", "not_before"])
    op.create_table(
        "broadcast_drafts",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("broadcast_drafts", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_broadcast_drafts")),
    )
    op.create_table(
        "member_preferences",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("quiet_enabled", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("member_preferences", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_preferences")),
    )


def downgrade() -> None:
    op.drop_table("member_preferences")
    op.drop_table("broadcast_drafts")
    op.drop_index("ix_broadcast_deliveries_state_not_before", table_name="broadcast_deliveries")
    op.drop_index(op.f("ix_broadcast_deliveries_member_id"), table_name="broadcast_deliveries")
    op.drop_index(op.f("ix_broadcast_deliveries_broadcast_id"), table_name="broadcast_deliveries")
    op.drop_table("broadcast_deliveries")
    op.drop_index(op.f("ix_broadcasts_state"), table_name="broadcasts")
    op.drop_table("broadcasts")
