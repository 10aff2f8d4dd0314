"""Tables of the complaint workflow: messages, templates, evidence, claims, compensation.

Imported at the end of ``app.domain.models`` so the shared metadata (and so Alembic and the
models/migrations agreement test) holds them. Every row carries ``tenant_id`` and, except a
tenant's template overrides, the incident it belongs to. Types and statuses are strings
validated at the API.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.domain.models import _when


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
    created_at: datetime = _when()
    updated_at: datetime = _when()


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
    actor: str = Field(max_length=200)
    occurred_at: datetime = _when()
    created_at: datetime = _when()


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
    uploaded_by: str = Field(max_length=200)
    created_at: datetime = _when()
    deleted_at: datetime | None = _when(nullable=True)
    deleted_by: str | None = Field(default=None, max_length=200)


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
    shipped_at: datetime | None = _when(nullable=True)
    filing_deadline: datetime = _when()
    created_by: str = Field(max_length=200)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    filed_at: datetime | None = _when(nullable=True)
    decided_at: datetime | None = _when(nullable=True)
    paid_at: datetime | None = _when(nullable=True)


class CompensationProposal(SQLModel, table=True):
    """A proposed solution and its compensation, and the supervisor's decision on it."""

    __tablename__ = "compensation_proposals"
    __table_args__ = (UniqueConstraint("incident_id", "seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    seq: int = Field(
        description="1, 2, ... per incident: the latest proposal is the one that counts."
    )
    solution: str = Field(sa_type=Text)
    kind: str | None = Field(default=None, max_length=32)
    amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    currency: str | None = Field(default=None, max_length=3)
    percent: Decimal | None = Field(default=None, sa_type=Numeric(5, 2))
    value: Decimal | None = Field(
        default=None, sa_type=Numeric(14, 3), description="What it is worth, when we can tell."
    )
    value_currency: str | None = Field(default=None, max_length=3)
    threshold: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    needs_approval: bool
    status: str = Field(
        max_length=16, description="pending, approved, rejected, not_required or superseded."
    )
    proposed_by: str = Field(max_length=200)
    proposed_by_key_id: uuid.UUID = Field(foreign_key="api_keys.id")
    decided_by: str | None = Field(default=None, max_length=200)
    decided_by_key_id: uuid.UUID | None = Field(default=None, foreign_key="api_keys.id")
    decided_at: datetime | None = _when(nullable=True)
    decision_reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _when()
