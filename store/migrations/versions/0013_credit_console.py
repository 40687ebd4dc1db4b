"""Console 积分 page: a plain outbox of Telegram messages to members (dispute results, adjustments), queued by
the console and sent by the bot.

Revision ID: 0013_credit_console
Revises: 0012_proposal_files
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0013_credit_console"
down_revision: str | None = "0012_proposal_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_notices_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_notices")),
    )
    op.create_index(op.f("ix_member_notices_member_id"), "member_notices", ["member_id"])
    op.create_index(op.f("ix_member_notices_sent_at"), "member_notices", ["sent_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_member_notices_sent_at"), table_name="member_notices")
    op.drop_index(op.f("ix_member_notices_member_id"), table_name="member_notices")
    op.drop_table("member_notices")
