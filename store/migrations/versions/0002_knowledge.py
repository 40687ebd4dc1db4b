"""Question log and FAQ entries.

Revision ID: 0002_knowledge
Revises: 0001_core
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0002_knowledge"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["members.id"], name=op.f("fk_faq_entries_created_by_members"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entries")),
    )
    op.create_table(
        "question_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_key", sa.String(200), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("faq_id", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.String(16), nullable=True),
        sa.Column("passed_to_staff", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_question_log_member_id_members"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["faq_id"], ["faq_entries.id"], name=op.f("fk_question_log_faq_id_faq_entries"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_log")),
    )
    op.create_index(op.f("ix_question_log_member_id"), "question_log", ["member_id"])
    op.create_index(op.f("ix_question_log_question_key"), "question_log", ["question_key"])
    op.create_index(op.f("ix_question_log_created_at"), "question_log", ["created_at"])


def downgrade() -> None:
    op.drop_table("question_log")
    op.drop_table("faq_entries")
