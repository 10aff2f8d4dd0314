"""Parcel tables: the parcel (with its latest known state) and every scan the carrier sent.

Carriers and statuses are plain strings validated at the API, so adding a carrier needs no
migration. A parcel of carrier ``other`` (one we cannot read) also keeps the seller's name for
the carrier and its tracking URL template. Every row carries ``tenant_id``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.tables import postgresql_only, timestamp_field

# searched by the incident list's ``q``, each with a trigram index on PostgreSQL
TRIGRAM_COLUMNS = (
    "order_id",
    "tracking_number",
    "customer_name",
    "customer_email",
    "customer_ticket_ref",
)


class Parcel(SQLModel, table=True):
    """One tracked shipment = one tracking number with one carrier."""

    __tablename__ = "parcels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "carrier", "tracking_number"),
        Index("ix_parcels_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        # the incident list's free-text search (app/incidents/search.py): ILIKE '%q%' on each;
        # one index per column: the planner costs a multi-column GIN index too high to use it
        *(
            postgresql_only(
                Index(
                    f"ix_parcels_{name}_trgm",
                    name,
                    postgresql_using="gin",
                    postgresql_ops={name: "gin_trgm_ops"},
                )
            )
            for name in TRIGRAM_COLUMNS
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    carrier: str = Field(max_length=32)
    tracking_number: str = Field(max_length=64)
    # carrier ``other`` only: the seller's name for it and its tracking page with {number}
    carrier_name: str | None = Field(default=None, max_length=100)
    tracking_url_template: str | None = Field(default=None, max_length=500)
    order_id: str = Field(max_length=100, index=True)
    order_date: date | None = None
    customer_name: str | None = Field(default=None, max_length=200)
    customer_email: str | None = Field(default=None, max_length=320)
    customer_phone: str | None = Field(default=None, max_length=32)
    customer_locale: str | None = Field(default=None, max_length=35)
    customer_ticket_ref: str | None = Field(default=None, max_length=100)
    customer_proactive_notices: bool = Field(
        default=True, description="False: the customer asked for no notices we start ourselves."
    )
    origin_country: str | None = Field(default=None, max_length=2)
    destination_country: str | None = Field(default=None, max_length=2)
    shipped_at: datetime | None = timestamp_field(nullable=True)
    declared_value: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    currency: str | None = Field(default=None, max_length=3)
    status: str = Field(default="info_received", max_length=32)
    last_scan_at: datetime | None = timestamp_field(nullable=True)
    last_scan_status: str | None = Field(default=None, max_length=32)
    last_scan_description: str | None = Field(default=None, max_length=500)
    last_scan_city: str | None = Field(default=None, max_length=200)
    last_scan_country: str | None = Field(default=None, max_length=2)
    last_polled_at: datetime | None = timestamp_field(nullable=True)
    last_poll_error: str | None = Field(default=None, max_length=500)
    next_poll_at: datetime | None = timestamp_field(nullable=True, index=True)
    poll_lease_until: datetime | None = timestamp_field(nullable=True)
    stuck_check_at: datetime | None = timestamp_field(nullable=True, index=True)
    poll_errors: int = Field(
        default=0,
        description="Polls in a row that failed for this number alone (reset on an answer).",
    )
    failed_attempts: int = Field(default=0, description="Failed delivery attempts scanned so far.")
    last_exception_reason: str | None = Field(default=None, max_length=500)
    detection_rearm_after: datetime | None = timestamp_field(nullable=True)
    detection_settled_at: datetime | None = timestamp_field(nullable=True)
    # when the customer can expect it (app/parcels/eta.py): the carrier's, or the lane's history
    eta_earliest: date | None = None
    eta_latest: date | None = None
    eta_basis: str | None = Field(
        default=None, max_length=16, description="carrier, history or default."
    )
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ScanRecord(SQLModel, table=True):
    """A stored tracking scan; ``fingerprint`` makes a repeated scan a no-op."""

    __tablename__ = "scans"
    __table_args__ = (
        UniqueConstraint("parcel_id", "fingerprint"),
        Index("ix_scans_parcel_id_occurred_at", "parcel_id", "occurred_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    parcel_id: uuid.UUID = Field(foreign_key="parcels.id")
    status: str = Field(max_length=32)
    occurred_at: datetime = timestamp_field()
    description: str = Field(max_length=500)
    city: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=2)
    raw_code: str | None = Field(default=None, max_length=64)
    raw_text: str | None = Field(default=None, max_length=1000)
    raw_timestamp: str | None = Field(default=None, max_length=200)
    carrier_delay: bool = False
    exception_reason: str | None = Field(default=None, max_length=500)
    source: str = Field(max_length=16, description="'api' (pushed) or 'carrier' (polled).")
    fingerprint: str = Field(max_length=64)
    recorded_at: datetime = timestamp_field()
