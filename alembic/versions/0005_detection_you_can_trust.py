"""detection you can trust: per-number poll errors, re-arm on movement, returns and failed attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parcels") as batch:
        batch.add_column(sa.Column("poll_errors", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("last_exception_reason", sa.String(length=500), nullable=True))
        batch.add_column(
            sa.Column("detection_rearm_after", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("detection_settled_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("carrier_states") as batch:
        batch.add_column(
            sa.Column("failing_numbers", sa.String(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_states") as batch:
        batch.drop_column("failing_numbers")
    with op.batch_alter_table("parcels") as batch:
        batch.drop_column("detection_settled_at")
        batch.drop_column("detection_rearm_after")
        batch.drop_column("last_exception_reason")
        batch.drop_column("failed_attempts")
        batch.drop_column("poll_errors")
