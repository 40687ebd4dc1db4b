"""Learning pushes (学习推送): the weekly plan per member and material, and the topics members stopped.

Revision ID: 0017_learning_push
Revises: 0016_quiz (its foreign keys name learning_materials)
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0017_learning_push"
down_revision: str | None = "0016_quiz"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("week_start", UTCDateTime(), nullable=False),
        sa.Column("planned_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claim_token", sa.String(64), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_learning_pushes_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["material_id"], ["learning_materials.id"],
            name=op.f("fk_learning_pushes_material_id_learning_materials"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_pushes")),
        sa.UniqueConstraint("member_id", "material_id", name=op.f("uq_learning_pushes_member_id")),
    )
    op.create_index(op.f("ix_learning_pushes_member_id"), "learning_pushes", ["member_id"])
    op.create_index(op.f("ix_learning_pushes_material_id"), "learning_pushes", ["material_id"])
    op.create_index(op.f("ix_learning_pushes_week_start"), "learning_pushes", ["week_start"])
    op.create_index("ix_learning_pushes_status_planned_at", "learning_pushes", ["status", "planned_at"])
    op.create_table(
        "learning_push_blocks",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_learning_push_blocks_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "topic", name=op.f("pk_learning_push_blocks")),
    )


def downgrade() -> None:
    op.drop_table("learning_push_blocks")
    op.drop_index("ix_learning_pushes_status_planned_at", table_name="learning_pushes")
    op.drop_index(op.f("ix_learning_pushes_week_start"), table_name="learning_pushes")
    op.drop_index(op.f("ix_learning_pushes_material_id"), table_name="learning_pushes")
    op.drop_index(op.f("ix_learning_pushes_member_id"), table_name="learning_pushes")
    op.drop_table("learning_pushes")
