"""Telling the customer: bulk notices, per-tenant notice rules and the sender's identity."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.db.tables import timestamp_field


class Notice(SQLModel, table=True):
    """One message to the customers of many parcels (a holiday pause, a carrier's delay).

    Each parcel's message is a ``CustomerMessage`` with this ``notice_id``; progress is counted
    from those rows' ``delivery``, so it is never out of step with what was sent.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_tenant_id_created_at_id", "tenant_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    template_key: str = Field(max_length=64)
    params: str = Field(sa_type=Text, description="JSON: the template's parameters.")
    filters: str = Field(sa_type=Text, description="JSON: the parcel filter, as given.")
    parcel_count: int = Field(description="Parcels the filter matched.")
    no_email_count: int = Field(description="Matched parcels without a customer e-mail.")
    opted_out_count: int = Field(description="Matched customers who opted out of notices.")
    actor_type: str = Field(max_length=16)
    actor_id: uuid.UUID | None = None
    actor_name: str = Field(max_length=200)
    created_at: datetime = timestamp_field()


class NoticeRule(SQLModel, table=True):
    """What to tell the customer when an automatic incident of one type opens (off by default)."""

    __tablename__ = "notice_rules"

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    incident_type: str = Field(max_length=32, primary_key=True)
    enabled: bool = False
    template_key: str = Field(max_length=64)
    params: str = Field(sa_type=Text, description="JSON: the template's parameters.")
    updated_at: datetime = timestamp_field()


class SenderSettings(SQLModel, table=True):
    """A tenant's own sender name, From and Reply-To (else ``RT_SMTP_FROM``)."""

    __tablename__ = "sender_settings"

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    sender_name: str | None = Field(default=None, max_length=200)
    from_address: str | None = Field(default=None, max_length=320)
    reply_to: str | None = Field(default=None, max_length=320)
    updated_at: datetime = timestamp_field()
