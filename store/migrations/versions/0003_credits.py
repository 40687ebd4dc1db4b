"""Credits: events, event check-ins, study check-ins, drafts, ledger, disputes, reminder preferences.

Revision ID: 0003_credits
Revises: 0002_knowledge
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0003_credits"
down_revision: str | None = "0002_knowledge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _member_fk(table: str, column: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["members.id"], name=op.f(f"fk_{table}_{column}_members"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "credit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("rule_id", sa.String(32), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _member_fk("credit_events", "created_by", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_events")),
        sa.UniqueConstraint("code", name=op.f("uq_credit_events_code")),
    )
    op.create_table(
        "credit_event_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("out_of_radius", sa.Boolean(), nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["credit_events.id"], name=op.f("fk_credit_event_checkins_event_id_credit_events"),
            ondelete="CASCADE",
        ),
        _member_fk("credit_event_checkins", "member_id", "CASCADE"),
        _member_fk("credit_event_checkins", "marked_by", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_event_checkins")),
        sa.UniqueConstraint("event_id", "member_id", name=op.f("uq_credit_event_checkins_event_id")),
    )
    op.create_index(op.f("ix_credit_event_checkins_event_id"), "credit_event_checkins", ["event_id"])
    op.create_index(op.f("ix_credit_event_checkins_member_id"), "credit_event_checkins", ["member_id"])
    op.create_table(
        "credit_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("study_date", sa.Date(), nullable=False),
        sa.Column("backfill", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _member_fk("credit_checkins", "member_id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_checkins")),
    )
    op.create_index(op.f("ix_credit_checkins_member_id"), "credit_checkins", ["member_id"])
    op.create_table(
        "credit_checkin_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("awaiting", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _member_fk("credit_checkin_drafts", "member_id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_checkin_drafts")),
    )
    op.create_index(op.f("ix_credit_checkin_drafts_member_id"), "credit_checkin_drafts", ["member_id"])
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(32), nullable=False),
        sa.Column("source_type", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("requested_points", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("capped_reason", sa.String(32), nullable=True),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _member_fk("credit_entries", "member_id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
        sa.UniqueConstraint(
            "member_id", "rule_id", "source_type", "source_id", name=op.f("uq_credit_entries_member_id")
        ),
    )
    op.create_index(op.f("ix_credit_entries_member_id"), "credit_entries", ["member_id"])
    op.create_index(op.f("ix_credit_entries_rule_id"), "credit_entries", ["rule_id"])
    op.create_index(op.f("ix_credit_entries_activity_date"), "credit_entries", ["activity_date"])
    op.create_table(
        "credit_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["credit_entries.id"], name=op.f("fk_credit_disputes_entry_id_credit_entries"),
            ondelete="CASCADE",
        ),
        _member_fk("credit_disputes", "member_id", "CASCADE"),
        _member_fk("credit_disputes", "resolved_by", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_disputes")),
    )
    op.create_index(op.f("ix_credit_disputes_entry_id"), "credit_disputes", ["entry_id"])
    op.create_index(op.f("ix_credit_disputes_member_id"), "credit_disputes", ["member_id"])
    op.create_table(
        "credit_reminder_prefs",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("last_reminded_at", UTCDateTime(), nullable=True),
        _member_fk("credit_reminder_prefs", "member_id", "CASCADE"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_credit_reminder_prefs")),
    )


def downgrade() -> None:
    op.drop_table("credit_reminder_prefs")
    op.drop_table("credit_disputes")
    op.drop_table("credit_entries")
    op.drop_table("credit_checkin_drafts")
    op.drop_table("credit_checkins")
    op.drop_table("credit_event_checkins")
    op.drop_table("credit_events")
