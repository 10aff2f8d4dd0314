"""A tenant's own wording of a template, per language."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.tables import timestamp_field


class MessageTemplateOverride(SQLModel, table=True):
    """A tenant's own wording of one library template in one language."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "key", "language"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    key: str = Field(max_length=64)
    language: str = Field(max_length=8)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    updated_by: str = Field(max_length=200)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
