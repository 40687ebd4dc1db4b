"""Learning library (学习资料库): materials, each member's reading of each, and the evidence of a study check-in.

Revision ID: 0015_learning
Revises: 0014_broadcast_approval
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0015_learning"
down_revision: str | None = "0014_broadcast_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source_label", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kb_source", sa.String(255), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("link_url", sa.String(1000), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("estimated_minutes", sa.Integer(), nullable=False),
        sa.Column("required_from", sa.Date(), nullable=True),
        sa.Column("required_until", sa.Date(), nullable=True),
        sa.Column("required_label", sa.String(64), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("draft", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["members.id"], name=op.f("fk_learning_materials_created_by_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_materials")),
    )
    op.create_index(op.f("ix_learning_materials_created_at"), "learning_materials", ["created_at"])
    op.create_index(op.f("ix_learning_materials_created_by"), "learning_materials", ["created_by"])
    op.create_table(
        "learning_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_page", sa.Integer(), nullable=False),
        sa.Column("last_read_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("read_seconds", sa.Integer(), nullable=True),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_learning_readings_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["material_id"], ["learning_materials.id"],
            name=op.f("fk_learning_readings_material_id_learning_materials"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["credit_checkins.id"], name=op.f("fk_learning_readings_checkin_id_credit_checkins"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_readings")),
        sa.UniqueConstraint("member_id", "material_id", name=op.f("uq_learning_readings_member_id")),
    )
    op.create_index(op.f("ix_learning_readings_member_id"), "learning_readings", ["member_id"])
    op.create_index(op.f("ix_learning_readings_material_id"), "learning_readings", ["material_id"])
    # Plain ADD COLUMN (nullable or with a default): SQLite changes the table in place, no rebuild.
    op.add_column(
        "credit_checkins",
        sa.Column("evidence", sa.String(16), server_default="self_report", nullable=False),
    )
    op.add_column("credit_checkins", sa.Column("material_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_index(op.f("ix_learning_readings_material_id"), table_name="learning_readings")
    op.drop_index(op.f("ix_learning_readings_member_id"), table_name="learning_readings")
    op.drop_table("learning_readings")
    op.drop_index(op.f("ix_learning_materials_created_by"), table_name="learning_materials")
    op.drop_index(op.f("ix_learning_materials_created_at"), table_name="learning_materials")
    op.drop_table("learning_materials")
    with op.batch_alter_table("credit_checkins") as batch:
        batch.drop_column("material_id")
        batch.drop_column("evidence")
