"""scheduler state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:54:15.425017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_states",
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("available_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unavailable_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("carrier", name=op.f("pk_carrier_states")),
    )
    op.create_table(
        "stuck_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("destination_country", sa.String(length=2), nullable=True),
        sa.Column("business_days", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_stuck_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stuck_rules")),
        sa.UniqueConstraint(
            "tenant_id",
            "carrier",
            "status",
            "destination_country",
            name=op.f("uq_stuck_rules_tenant_id_carrier_status_destination_country"),
        ),
    )
    with op.batch_alter_table("stuck_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stuck_rules_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overdue_notified_for", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_incidents_open_next_step_due_at",
            ["next_step_due_at"],
            unique=False,
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        )
        batch_op.create_index(
            "uq_incidents_open_auto_parcel",
            ["parcel_id"],
            unique=True,
            sqlite_where=sa.text("source = 'auto' AND status != 'resolved'"),
            postgresql_where=sa.text("source = 'auto' AND status != 'resolved'"),
        )

    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("poll_lease_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("stuck_check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_parcels_stuck_check_at"), ["stuck_check_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("parcels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parcels_stuck_check_at"))
        batch_op.drop_column("stuck_check_at")
        batch_op.drop_column("poll_lease_until")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_incidents_open_auto_parcel",
            sqlite_where=sa.text("source = 'auto' AND status != 'resolved'"),
            postgresql_where=sa.text("source = 'auto' AND status != 'resolved'"),
        )
        batch_op.drop_index(
            "ix_incidents_open_next_step_due_at",
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        )
        batch_op.drop_column("overdue_notified_for")

    with op.batch_alter_table("stuck_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stuck_rules_tenant_id"))

    op.drop_table("stuck_rules")
    op.drop_table("carrier_states")
