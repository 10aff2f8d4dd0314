"""A tenant's stuck threshold overrides, per (carrier, status, destination)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel


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
