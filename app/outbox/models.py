"""The outbox table: every domain event, written in the transaction that caused it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.db.tables import timestamp_field


class Event(SQLModel, table=True):
    """A domain event, written in the same transaction as the change it describes."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id")
    type: str = Field(max_length=64)
    occurred_at: datetime = timestamp_field()
    parcel_id: uuid.UUID | None = Field(default=None, foreign_key="parcels.id", index=True)
    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incidents.id", index=True)
    payload: str = Field(sa_type=Text, description="JSON: the objects as the API returns them.")
