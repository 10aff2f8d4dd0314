"""Webhook tables: subscriptions (endpoints), the outbox (deliveries) and the attempts log.

``app.metadata`` imports them with every other feature's tables. A delivery row is
written in the same transaction as its event; the dispatcher claims it with
``FOR UPDATE SKIP LOCKED`` and a lease (see ``app.webhooks.dispatch.job``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from app.db.tables import timestamp_field

# BIGINT on PostgreSQL; SQLite only auto-numbers an INTEGER PRIMARY KEY
SerialKey = BigInteger().with_variant(Integer(), "sqlite")
IS_PENDING = text("webhook_deliveries.status = 'pending'")
"""The partial indexes' predicate, written out: with ``status = $1`` a prepared statement's
generic plan cannot use them (psycopg prepares a statement after five executions)."""


class WebhookEndpoint(SQLModel, table=True):
    """A subscriber's URL and the event types it wants; its signing secrets are encrypted."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: str = Field(
        max_length=2000, description="Space-separated event types, or '*' for every type."
    )
    enabled: bool = True
    disabled_reason: str | None = Field(
        default=None, max_length=32, description="'manual', 'gone' (410) or 'failing'."
    )
    disabled_at: datetime | None = timestamp_field(nullable=True)
    failing_since: datetime | None = timestamp_field(nullable=True)
    secret_encrypted: str = Field(sa_type=Text, description="Fernet token of the whsec_ secret.")
    previous_secret_encrypted: str | None = Field(default=None, sa_type=Text)
    previous_secret_expires_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    deleted_at: datetime | None = timestamp_field(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: the outbox row the dispatcher works through.

    ``id`` grows with insertion, so with ``occurred_at`` it orders one parcel's events.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index(  # in the claim's order, so a claim reads only the rows it takes (and skips)
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_webhook_deliveries_pending_order",
            "endpoint_id",
            "parcel_id",
            "occurred_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_webhook_deliveries_endpoint_id_created_at_event_id",
            "endpoint_id",
            "created_at",
            "event_id",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(SerialKey, primary_key=True))
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoints.id")
    event_id: uuid.UUID = Field(foreign_key="events.id")
    event_type: str = Field(max_length=64)
    parcel_id: uuid.UUID | None = Field(default=None)
    occurred_at: datetime = timestamp_field()
    status: str = Field(
        default="pending", max_length=16, description="pending, delivered, failed, cancelled."
    )
    attempts: int = Field(default=0, description="Attempts since it was (re)queued.")
    next_attempt_at: datetime | None = timestamp_field(nullable=True)
    lease_until: datetime | None = timestamp_field(nullable=True)
    last_attempt_at: datetime | None = timestamp_field(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request we made (or refused to make) for a delivery."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(SerialKey, primary_key=True))
    delivery_id: int = Field(
        sa_column=Column(SerialKey, ForeignKey("webhook_deliveries.id"), nullable=False)
    )
    attempted_at: datetime = timestamp_field()
    webhook_timestamp: int = Field(sa_type=BigInteger, description="The signed Unix time.")
    status_code: int | None = None
    latency_ms: int
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(
        default=None, sa_type=Text, description="The first 2 KB of the answer."
    )
