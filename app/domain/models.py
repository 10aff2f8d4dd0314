"""Tables. Alembic migrations are generated from these and are the only source of the schema.

Carriers, statuses and types are plain strings validated at the API, so adding a carrier or a
status needs no migration. Every row that belongs to a seller carries ``tenant_id``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, LargeBinary, MetaData, Numeric, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db.types import UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def _when(*, nullable: bool = False, index: bool = False) -> datetime:
    """An aware UTC timestamp column (SQLite keeps none, so the type restores it)."""
    return Field(  # type: ignore[no-any-return]
        default_factory=utcnow if not nullable else None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    incident_seq: int = Field(default=0, description="Last human incident number handed out.")
    created_at: datetime = _when()


class ApiKey(SQLModel, table=True):
    """A tenant's API key; only its SHA-256 is stored, the key itself is shown once."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    last4: str = Field(max_length=4)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: str = Field(max_length=500, description="Space-separated scope names.")
    created_at: datetime = _when()
    revoked_at: datetime | None = _when(nullable=True)


class Parcel(SQLModel, table=True):
    """One tracked shipment = one tracking number with one carrier."""

    __tablename__ = "parcels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "carrier", "tracking_number"),
        Index("ix_parcels_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    carrier: str = Field(max_length=32)
    tracking_number: str = Field(max_length=64)
    order_id: str = Field(max_length=100, index=True)
    order_date: date | None = None
    customer_name: str | None = Field(default=None, max_length=200)
    customer_email: str | None = Field(default=None, max_length=320)
    customer_phone: str | None = Field(default=None, max_length=32)
    customer_locale: str | None = Field(default=None, max_length=35)
    customer_ticket_ref: str | None = Field(default=None, max_length=100)
    origin_country: str | None = Field(default=None, max_length=2)
    destination_country: str | None = Field(default=None, max_length=2)
    shipped_at: datetime | None = _when(nullable=True)
    declared_value: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    currency: str | None = Field(default=None, max_length=3)
    status: str = Field(default="info_received", max_length=32)
    last_scan_at: datetime | None = _when(nullable=True)
    last_scan_status: str | None = Field(default=None, max_length=32)
    last_scan_description: str | None = Field(default=None, max_length=500)
    last_scan_city: str | None = Field(default=None, max_length=200)
    last_scan_country: str | None = Field(default=None, max_length=2)
    last_polled_at: datetime | None = _when(nullable=True)
    last_poll_error: str | None = Field(default=None, max_length=500)
    next_poll_at: datetime | None = _when(nullable=True, index=True)
    poll_lease_until: datetime | None = _when(nullable=True)
    stuck_check_at: datetime | None = _when(nullable=True, index=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()


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
    occurred_at: datetime = _when()
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
    recorded_at: datetime = _when()


class Incident(SQLModel, table=True):
    """One row of the seller's resolution tracker."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_incidents_tenant_id_opened_at_id", "tenant_id", "opened_at", "id"),
        Index("ix_incidents_tenant_id_status", "tenant_id", "status"),
        # At most one open automatic incident per parcel, whatever the number of schedulers.
        Index(
            "uq_incidents_open_auto_parcel",
            "parcel_id",
            unique=True,
            sqlite_where=text("source = 'auto' AND status != 'resolved'"),
            postgresql_where=text("source = 'auto' AND status != 'resolved'"),
        ),
        Index(
            "ix_incidents_open_next_step_due_at",
            "next_step_due_at",
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    number: int
    parcel_id: uuid.UUID = Field(foreign_key="parcels.id", index=True)
    type: str = Field(max_length=32)
    source: str = Field(max_length=16)
    status: str = Field(default="open", max_length=32)
    resolution: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, sa_type=Text)
    customer_reported_at: datetime | None = _when(nullable=True)
    detected_at: datetime | None = _when(nullable=True)
    opened_at: datetime = _when()
    first_response_at: datetime | None = _when(nullable=True)
    resolved_at: datetime | None = _when(nullable=True)
    communication_summary: str | None = Field(default=None, sa_type=Text)
    next_step_action: str | None = Field(default=None, max_length=500)
    next_step_due_at: datetime | None = _when(nullable=True)
    substantiated: bool | None = None
    responsible_department: str | None = Field(default=None, max_length=100)
    root_cause: str | None = Field(default=None, max_length=40)
    proposed_solution: str | None = Field(default=None, sa_type=Text)
    compensation_kind: str | None = Field(default=None, max_length=32)
    compensation_amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    compensation_currency: str | None = Field(default=None, max_length=3)
    compensation_percent: Decimal | None = Field(default=None, sa_type=Numeric(5, 2))
    lessons_learned: str | None = Field(default=None, sa_type=Text)
    overdue_notified_for: datetime | None = _when(nullable=True)
    version: int = Field(default=1, description="Optimistic lock; the ETag is built from it.")
    created_at: datetime = _when()
    updated_at: datetime = _when()


class TimelineEntry(SQLModel, table=True):
    """Append-only, hash-chained history of an incident: the seller's dispute evidence."""

    __tablename__ = "timeline_entries"
    __table_args__ = (UniqueConstraint("incident_id", "seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    seq: int
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    summary: str = Field(max_length=1000)
    data: str = Field(sa_type=Text, description="Canonical JSON, hashed exactly as stored.")
    occurred_at: datetime = _when()
    recorded_at: datetime = _when()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Event(SQLModel, table=True):
    """A domain event, written in the same transaction as the change it describes."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id")
    type: str = Field(max_length=64)
    occurred_at: datetime = _when()
    parcel_id: uuid.UUID | None = Field(default=None, foreign_key="parcels.id", index=True)
    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incidents.id", index=True)
    payload: str = Field(sa_type=Text, description="JSON: the objects as the API returns them.")


class StuckRuleRecord(SQLModel, table=True):
    """A tenant's stuck threshold override (business days) for carrier/status/destination."""

    __tablename__ = "stuck_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "carrier", "status", "destination_country"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    carrier: str | None = Field(default=None, max_length=32)
    status: str | None = Field(default=None, max_length=32)
    destination_country: str | None = Field(default=None, max_length=2)
    business_days: Decimal = Field(sa_type=Numeric(6, 2))


class CarrierState(SQLModel, table=True):
    """Whether we can reach a carrier; one row per carrier, shared by every process."""

    __tablename__ = "carrier_states"

    carrier: str = Field(primary_key=True, max_length=32)
    available: bool = True
    available_since: datetime | None = _when(nullable=True)
    unavailable_since: datetime | None = _when(nullable=True)
    last_success_at: datetime | None = _when(nullable=True)
    last_failure_at: datetime | None = _when(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)


class IdempotencyRecord(SQLModel, table=True):
    """A POST seen with an Idempotency-Key, scoped to the API key that sent it."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "method", "path", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    scope: str = Field(max_length=64, description="SHA-256 of the API key that sent it.")
    method: str = Field(max_length=8)
    path: str = Field(max_length=500)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    state: str = Field(max_length=16, description="'in_progress' or 'done'.")
    response_status: int | None = None
    response_headers: str | None = Field(default=None, sa_type=Text)
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = _when()
    expires_at: datetime = _when(index=True)


from app.domain import webhook_models as _webhook_models  # noqa: E402, F401  (webhook tables)
from app.domain import workflow_models as _workflow_models  # noqa: E402, F401  (workflow tables)
