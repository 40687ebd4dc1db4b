"""Proposal photos are downloaded into the data dir: a claimed, retried download per photo.

Revision ID: 0012_proposal_files
Revises: 0011_pending
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0012_proposal_files"
down_revision: str | None = "0011_pending"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proposal_photos") as batch:
        batch.add_column(sa.Column("fetch_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("fetch_after", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proposal_photos") as batch:
        batch.drop_column("fetch_after")
        batch.drop_column("fetch_attempts")
