"""One mechanism for what waits for a member's input (store.pending): check-in drafts say when they were
last shown, so the newest waiting card (of any flow) is the one in front of the member.

Revision ID: 0011_pending
Revises: 0010_peak
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision: str = "0011_pending"
down_revision: str | None = "0010_peak"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credit_checkin_drafts") as batch:
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
    op.execute(sa.text("UPDATE credit_checkin_drafts SET updated_at = created_at"))
    with op.batch_alter_table("credit_checkin_drafts") as batch:
        batch.alter_column("updated_at", existing_type=UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_checkin_drafts") as batch:
        batch.drop_column("updated_at")
