"""Points that cannot be gamed: check-in attempts, QR pages, reversals, one open dispute, invite attempts, secrets.

Revision ID: 0007_anti_gaming
Revises: 0006_member_blocked
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0007_anti_gaming"
down_revision: str | None = "0006_member_blocked"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_DISPUTE = sa.text("status = 'open'")


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE INDEX only, never a batch table rebuild: with foreign keys on (they are, see
    # store.db) SQLite's DROP of the old table would cascade and delete the check-ins and disputes.
    # A string server default keeps alembic from rebuilding (a SQL expression would not).
    op.add_column("credit_events", sa.Column("require_location", sa.Boolean(), nullable=False, server_default="0"))
    op.add_column("credit_entries", sa.Column("reverses_id", sa.Integer(), nullable=True))
    op.create_index(op.f("uq_credit_entries_reverses_id"), "credit_entries", ["reverses_id"], unique=True)
    # Before the index: if an entry has several open disputes (possible before this revision), the oldest
    # stays open and the others are set aside as duplicates (staff buttons on them answer "already handled").
    op.execute(
        "UPDATE credit_disputes SET status = 'duplicate' WHERE status = 'open' AND id NOT IN "
        "(SELECT MIN(id) FROM credit_disputes WHERE status = 'open' GROUP BY entry_id)"
    )
    op.create_index(
        "uq_credit_disputes_open_entry", "credit_disputes", ["entry_id"], unique=True,
        sqlite_where=OPEN_DISPUTE, postgresql_where=OPEN_DISPUTE,
    )
    op.create_table(
        "credit_event_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_credit_event_attempts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["credit_events.id"], name=op.f("fk_credit_event_attempts_event_id_credit_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_event_attempts")),
    )
    op.create_index(op.f("ix_credit_event_attempts_member_id"), "credit_event_attempts", ["member_id"])
    op.create_index(op.f("ix_credit_event_attempts_event_id"), "credit_event_attempts", ["event_id"])
    op.create_index(op.f("ix_credit_event_attempts_at"), "credit_event_attempts", ["at"])
    op.create_table(
        "credit_event_qr_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["credit_events.id"], name=op.f("fk_credit_event_qr_pages_event_id_credit_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_event_qr_pages")),
        sa.UniqueConstraint("chat_id", "message_id", name=op.f("uq_credit_event_qr_pages_chat_id")),
    )
    op.create_index(op.f("ix_credit_event_qr_pages_event_id"), "credit_event_qr_pages", ["event_id"])
    op.create_table(
        "invite_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_attempts")),
    )
    op.create_index(op.f("ix_invite_attempts_telegram_id"), "invite_attempts", ["telegram_id"])
    op.create_index(op.f("ix_invite_attempts_code"), "invite_attempts", ["code"])
    op.create_index(op.f("ix_invite_attempts_at"), "invite_attempts", ["at"])
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )


def downgrade() -> None:
    op.drop_table("app_secrets")
    op.drop_index(op.f("ix_invite_attempts_at"), table_name="invite_attempts")
    op.drop_index(op.f("ix_invite_attempts_code"), table_name="invite_attempts")
    op.drop_index(op.f("ix_invite_attempts_telegram_id"), table_name="invite_attempts")
    op.drop_table("invite_attempts")
    op.drop_index(op.f("ix_credit_event_qr_pages_event_id"), table_name="credit_event_qr_pages")
    op.drop_table("credit_event_qr_pages")
    op.drop_index(op.f("ix_credit_event_attempts_at"), table_name="credit_event_attempts")
    op.drop_index(op.f("ix_credit_event_attempts_event_id"), table_name="credit_event_attempts")
    op.drop_index(op.f("ix_credit_event_attempts_member_id"), table_name="credit_event_attempts")
    op.drop_table("credit_event_attempts")
    op.drop_index("uq_credit_disputes_open_entry", table_name="credit_disputes")
    op.drop_index(op.f("uq_credit_entries_reverses_id"), table_name="credit_entries")
    # Native DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL), again without rebuilding the tables.
    op.drop_column("credit_entries", "reverses_id")
    op.drop_column("credit_events", "require_location")
