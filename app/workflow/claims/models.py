"""Carrier claims: one row per claim filed with a carrier for an incident."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, Text
from sqlmodel import Field, SQLModel

from app.core.actors import Actor
from app.db.tables import timestamp_field


class CarrierClaim(SQLModel, table=True):
    """A claim against the carrier: draft -> filed -> approved/partially/rejected -> paid."""

    __tablename__ = "carrier_claims"
    __table_args__ = (
        Index("ix_carrier_claims_incident_id_created_at_id", "incident_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    carrier: str = Field(max_length=32)
    claim_type: str = Field(max_length=16)
    amount: Decimal = Field(sa_type=Numeric(14, 3))
    currency: str = Field(max_length=3)
    status: str = Field(default="draft", max_length=24)
    carrier_reference: str | None = Field(default=None, max_length=100)
    approved_amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    paid_amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    evidence_ids: str = Field(sa_type=Text, description="JSON list of evidence file ids.")
    description: str | None = Field(default=None, sa_type=Text)
    decision_reason: str | None = Field(default=None, max_length=2000)
    shipped_at: datetime | None = timestamp_field(nullable=True)
    filing_deadline: datetime = timestamp_field()
    created_by: str = Field(max_length=200, description="The creator's name at the time.")
    created_by_type: str = Field(max_length=16, description="user, api_key or system.")
    created_by_id: uuid.UUID | None = None
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    filed_at: datetime | None = timestamp_field(nullable=True)
    decided_at: datetime | None = timestamp_field(nullable=True)
    paid_at: datetime | None = timestamp_field(nullable=True)

    @property
    def creator(self) -> Actor:
        return Actor.stored(self.created_by_type, self.created_by_id, self.created_by)
