"""incident search: a trigram index per searched column (PostgreSQL) for the incident list's free-text q

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 07:30:00

pg_trgm ships with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13: the
database owner may create it without superuser rights. SQLite gets nothing: its LIKE scans.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARCEL_COLUMNS = (
    "order_id",
    "tracking_number",
    "customer_name",
    "customer_email",
    "customer_ticket_ref",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name in PARCEL_COLUMNS:  # one each: a multi-column GIN index is costed out of use
        op.create_index(
            f"ix_parcels_{name}_trgm",
            "parcels",
            [name],
            postgresql_using="gin",
            postgresql_ops={name: "gin_trgm_ops"},
        )
    op.create_index(
        "ix_incidents_description_trgm",
        "incidents",
        ["description"],
        postgresql_using="gin",
        postgresql_ops={"description": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_incidents_description_trgm", table_name="incidents")
    for name in PARCEL_COLUMNS:
        op.drop_index(f"ix_parcels_{name}_trgm", table_name="parcels")
    # pg_trgm stays: other objects of the database may use it
