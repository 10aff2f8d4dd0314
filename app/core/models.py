"""Tables. Alembic migrations are generated from these and are the only source of the schema.

Carriers, statuses and types are plain strings validated at the API, so adding a carrier or a
status needs no migration. Every row that belongs to a seller carries ``tenant_id``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.tables import timestamp_field


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    incident_seq: int = Field(default=0, description="Last human incident number handed out.")
    created_at: datetime = timestamp_field()


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
    created_at: datetime = timestamp_field()
    revoked_at: datetime | None = timestamp_field(nullable=True)


class IdempotencyRecord(SQLModel, table=True):
    """A POST seen with an Idempotency-Key, scoped to the API key that sent it.

    ``state`` runs ``in_progress`` (claimed) → ``committed`` (the work's own transaction
    committed; status and headers known) → ``done`` (the answer stored, ``sealed``: encrypted).
    The life cycle and what a retry sees in each state: ``app.api.idempotency``.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "method", "path", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    scope: str = Field(max_length=64, description="SHA-256 of the API key that sent it.")
    method: str = Field(max_length=8)
    path: str = Field(max_length=500)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    state: str = Field(max_length=16, description="'in_progress', 'committed' or 'done'.")
    response_status: int | None = None
    response_headers: str | None = Field(default=None, sa_type=Text)
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    sealed: bool = Field(
        default=False,
        description="response_body is encrypted (app.core.sealing); older rows are plain.",
    )
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field(index=True)
