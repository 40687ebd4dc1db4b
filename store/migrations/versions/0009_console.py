"""Staff console: sign-in links, sessions, shared state (secret, revisions), uploaded documents; gap handling.

Revision ID: 0009_console
Revises: 0006_member_blocked
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0009_console"
down_revision: str | None = "0008_kb_modes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_via", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_console_links_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_links")),
        sa.UniqueConstraint("nonce_hash", name=op.f("uq_console_links_nonce_hash")),
    )
    op.create_index(op.f("ix_console_links_member_id"), "console_links", ["member_id"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_console_sessions_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
    )
    op.create_index(op.f("ix_console_sessions_member_id"), "console_sessions", ["member_id"])
    op.create_table(
        "app_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_state")),
    )
    op.create_table(
        "kb_documents",
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("stored_path", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["members.id"], name=op.f("fk_kb_documents_uploaded_by_members"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_kb_documents")),
    )
    with op.batch_alter_table("question_log") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=True))
        batch.add_column(sa.Column("handled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("handled_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_question_log_handled_by_members"), "members", ["handled_by"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("question_log") as batch:
        batch.drop_constraint(op.f("fk_question_log_handled_by_members"), type_="foreignkey")
        batch.drop_column("handled_by")
        batch.drop_column("handled_at")
        batch.drop_column("mode")
    op.drop_table("kb_documents")
    op.drop_table("app_state")
    op.drop_index(op.f("ix_console_sessions_member_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index(op.f("ix_console_links_member_id"), table_name="console_links")
    op.drop_table("console_links")
