"""Messages exchanged with the customer about an incident, in and out."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.core.actors import Actor
from app.db.tables import timestamp_field


class IncidentMessage(SQLModel, table=True):
    """A message to or from the customer, as it was sent (we do not send it ourselves)."""

    __tablename__ = "incident_messages"
    __table_args__ = (
        Index(
            "ix_incident_messages_incident_id_occurred_at_id", "incident_id", "occurred_at", "id"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    direction: str = Field(max_length=3, description="'in' (from the customer) or 'out'.")
    channel: str = Field(max_length=16, description="email, chat, phone or marketplace.")
    template_key: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_type=Text)
    body_html: str | None = Field(default=None, sa_type=Text)
    summary: str = Field(max_length=300)
    actor_type: str = Field(max_length=16, description="user, api_key or system.")
    actor_id: uuid.UUID | None = None
    actor_name: str = Field(max_length=200)
    occurred_at: datetime = timestamp_field()
    created_at: datetime = timestamp_field()

    @property
    def actor(self) -> Actor:
        return Actor.stored(self.actor_type, self.actor_id, self.actor_name)
