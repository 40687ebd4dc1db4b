"""Broadcasts: the two-person rule (待审核 → approved or returned by a reviewer), reviewers' return-reason
prompts, and photos or documents uploaded from the console.

Revision ID: 0014_broadcast_approval
Revises: 0013_credit_console
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0014_broadcast_approval"
down_revision: str | None = "0013_credit_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("media_file", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewers_notified_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("author_notified_at", UTCDateTime(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_broadcasts_reviewed_by_members"), "members", ["reviewed_by"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "broadcast_return_prompts",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_broadcast_return_prompts_member_id_members"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"],
                                name=op.f("fk_broadcast_return_prompts_broadcast_id_broadcasts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_broadcast_return_prompts")),
    )
    op.create_index(op.f("ix_broadcast_return_prompts_broadcast_id"), "broadcast_return_prompts",
                    ["broadcast_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_broadcast_return_prompts_broadcast_id"), table_name="broadcast_return_prompts")
    op.drop_table("broadcast_return_prompts")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_constraint(op.f("fk_broadcasts_reviewed_by_members"), type_="foreignkey")
        batch.drop_column("author_notified_at")
        batch.drop_column("reviewers_notified_at")
        batch.drop_column("review_note")
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
        batch.drop_column("media_file")
