"""Broadcast deliveries: how many parts of a multi-part notice were sent (resume from the first unsent part).

Revision ID: 0010_peak
Revises: 0006_member_blocked
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_peak"
down_revision: str | None = "0009_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast_deliveries") as batch:
        batch.add_column(sa.Column("parts_sent", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("broadcast_deliveries") as batch:
        batch.drop_column("parts_sent")
