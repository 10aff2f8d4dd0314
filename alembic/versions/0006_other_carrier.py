"""other carrier: a parcel of carrier 'other' keeps the seller's name for the carrier and
its tracking URL template (both empty for every other carrier)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:19:47.524592
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carrier_name", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("tracking_url_template", sa.String(length=500), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_column("tracking_url_template")
        batch_op.drop_column("carrier_name")
