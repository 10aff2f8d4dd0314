"""Evidence files of an incident: what was uploaded, typed by content, with its digest."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from app.core.actors import Actor
from app.db.tables import timestamp_field


class EvidenceFile(SQLModel, table=True):
    """An uploaded file; stored under a name we chose, its type read from its content."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        Index("ix_evidence_files_incident_id_created_at_id", "incident_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    kind: str = Field(max_length=32)
    file_name: str = Field(max_length=255, description="The client's name, for display only.")
    content_type: str = Field(max_length=100, description="Sniffed from the content.")
    size_bytes: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, description="Path under RT_STORAGE_DIR.")
    description: str | None = Field(default=None, max_length=1000)
    uploaded_by: str = Field(max_length=200, description="The uploader's name at the time.")
    uploaded_by_type: str = Field(max_length=16, description="user, api_key or system.")
    uploaded_by_id: uuid.UUID | None = None
    created_at: datetime = timestamp_field()
    deleted_at: datetime | None = timestamp_field(nullable=True)
    deleted_by: str | None = Field(default=None, max_length=200)
    deleted_by_type: str | None = Field(default=None, max_length=16)
    deleted_by_id: uuid.UUID | None = None

    @property
    def uploader(self) -> Actor:
        return Actor.stored(self.uploaded_by_type, self.uploaded_by_id, self.uploaded_by)
