"""Micro-proposals: items, counters, events, supporters, photos, drafts, notification and webhook outboxes.

Revision ID: 0004_proposals
Revises: 0003_credits
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0004_proposals"
down_revision: str | None = "0003_credits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(60), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("place", sa.String(200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(128), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("rating", sa.String(16), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("adopted_at", UTCDateTime(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("embedding", sa.JSON(), nullable=True),
        sa.Column("embedder_id", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("proposals", "member_id", "members", "RESTRICT"),
        _fk("proposals", "merged_into_id", "proposals", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
        sa.UniqueConstraint("number", name=op.f("uq_proposals_number")),
    )
    op.create_index(op.f("ix_proposals_member_id"), "proposals", ["member_id"])
    op.create_index(op.f("ix_proposals_status"), "proposals", ["status"])
    op.create_index(op.f("ix_proposals_merged_into_id"), "proposals", ["merged_into_id"])
    op.create_index(op.f("ix_proposals_created_at"), "proposals", ["created_at"])
    op.create_table(
        "proposal_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_proposal_counters")),
    )
    op.create_table(
        "proposal_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_member_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        _fk("proposal_events", "proposal_id", "proposals", "CASCADE"),
        _fk("proposal_events", "actor_member_id", "members", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_events")),
    )
    op.create_index(op.f("ix_proposal_events_proposal_id"), "proposal_events", ["proposal_id"])
    op.create_table(
        "proposal_supporters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk("proposal_supporters", "proposal_id", "proposals", "CASCADE"),
        _fk("proposal_supporters", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_supporters")),
        sa.UniqueConstraint("proposal_id", "member_id", name=op.f("uq_proposal_supporters_proposal_id")),
    )
    op.create_index(op.f("ix_proposal_supporters_proposal_id"), "proposal_supporters", ["proposal_id"])
    op.create_index(op.f("ix_proposal_supporters_member_id"), "proposal_supporters", ["member_id"])
    op.create_table(
        "proposal_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(256), nullable=False),
        sa.Column("file_unique_id", sa.String(64), nullable=False),
        sa.Column("local_path", sa.String(512), nullable=True),
        _fk("proposal_photos", "proposal_id", "proposals", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_photos")),
    )
    op.create_index(op.f("ix_proposal_photos_proposal_id"), "proposal_photos", ["proposal_id"])
    op.create_table(
        "proposal_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        _fk("proposal_drafts", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_drafts")),
        sa.UniqueConstraint("member_id", "kind", name=op.f("uq_proposal_drafts_member_id")),
    )
    op.create_index(op.f("ix_proposal_drafts_member_id"), "proposal_drafts", ["member_id"])
    op.create_index(op.f("ix_proposal_drafts_updated_at"), "proposal_drafts", ["updated_at"])
    op.create_table(
        "proposal_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        _fk("proposal_notifications", "event_id", "proposal_events", "CASCADE"),
        _fk("proposal_notifications", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_notifications")),
        sa.UniqueConstraint("event_id", "member_id", name=op.f("uq_proposal_notifications_event_id")),
    )
    op.create_index(op.f("ix_proposal_notifications_event_id"), "proposal_notifications", ["event_id"])
    op.create_index(op.f("ix_proposal_notifications_sent_at"), "proposal_notifications", ["sent_at"])
    op.create_table(
        "proposal_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_webhook_events")),
        sa.UniqueConstraint("key", name=op.f("uq_proposal_webhook_events_key")),
    )
    op.create_index(
        op.f("ix_proposal_webhook_events_next_attempt_at"), "proposal_webhook_events", ["next_attempt_at"]
    )
    op.create_index(op.f("ix_proposal_webhook_events_delivered_at"), "proposal_webhook_events", ["delivered_at"])


def downgrade() -> None:
    op.drop_table("proposal_webhook_events")
    op.drop_table("proposal_notifications")
    op.drop_table("proposal_drafts")
    op.drop_table("proposal_photos")
    op.drop_table("proposal_supporters")
    op.drop_table("proposal_events")
    op.drop_table("proposal_counters")
    op.drop_table("proposals")
