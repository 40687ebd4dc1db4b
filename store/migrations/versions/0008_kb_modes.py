"""Question log: the knowledge base's decision (answer, candidates, refusal) and the candidate opened.

Revision ID: 0008_kb_modes
Revises: 0006_member_blocked
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_kb_modes"
down_revision: str | None = "0007_anti_gaming"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("question_log") as batch:
        batch.add_column(sa.Column("kb_mode", sa.String(16), nullable=True))
        batch.add_column(sa.Column("opened_candidate", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_question_log_kb_mode"), ["kb_mode"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("question_log") as batch:
        batch.drop_index(op.f("ix_question_log_kb_mode"))
        batch.drop_column("opened_candidate")
        batch.drop_column("kb_mode")
