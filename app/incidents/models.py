"""Incident tables: the incident (one tracker row), its hash-chained timeline, and the
compensation proposals made for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, Text, UniqueConstraint, text
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from app.core.actors import Actor
from app.db.tables import postgresql_only, timestamp_field
from app.people.models import User


class Incident(SQLModel, table=True):
    """One row of the seller's resolution tracker."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_incidents_tenant_id_opened_at_id", "tenant_id", "opened_at", "id"),
        Index("ix_incidents_tenant_id_status", "tenant_id", "status"),
        Index("ix_incidents_tenant_id_assignee_id", "tenant_id", "assignee_id"),
        # At most one open automatic incident per parcel, whatever the number of schedulers.
        Index(
            "uq_incidents_open_auto_parcel",
            "parcel_id",
            unique=True,
            sqlite_where=text("source = 'auto' AND status != 'resolved'"),
            postgresql_where=text("source = 'auto' AND status != 'resolved'"),
        ),
        Index(
            "ix_incidents_open_next_step_due_at",
            "next_step_due_at",
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        # the incident list's free-text search (app/incidents/search.py)
        postgresql_only(
            Index(
                "ix_incidents_description_trgm",
                "description",
                postgresql_using="gin",
                postgresql_ops={"description": "gin_trgm_ops"},
            )
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    number: int
    parcel_id: uuid.UUID = Field(foreign_key="parcels.id", index=True)
    type: str = Field(max_length=32)
    source: str = Field(max_length=16)
    status: str = Field(default="open", max_length=32)
    assignee_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", description="The owner: a user of the tenant."
    )
    resolution: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, sa_type=Text)
    customer_reported_at: datetime | None = timestamp_field(nullable=True)
    detected_at: datetime | None = timestamp_field(nullable=True)
    opened_at: datetime = timestamp_field()
    first_response_at: datetime | None = timestamp_field(nullable=True)
    resolved_at: datetime | None = timestamp_field(nullable=True)
    communication_summary: str | None = Field(default=None, sa_type=Text)
    next_step_action: str | None = Field(default=None, max_length=500)
    next_step_due_at: datetime | None = timestamp_field(nullable=True)
    substantiated: bool | None = None
    responsible_department: str | None = Field(default=None, max_length=100)
    root_cause: str | None = Field(default=None, max_length=40)
    proposed_solution: str | None = Field(default=None, sa_type=Text)
    compensation_kind: str | None = Field(default=None, max_length=32)
    compensation_amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    compensation_currency: str | None = Field(default=None, max_length=3)
    compensation_percent: Decimal | None = Field(default=None, sa_type=Numeric(5, 2))
    lessons_learned: str | None = Field(default=None, sa_type=Text)
    overdue_notified_for: datetime | None = timestamp_field(nullable=True)
    version: int = Field(default=1, description="Optimistic lock; the ETag is built from it.")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()

    # loaded when read, never joined: the incident is often locked (FOR UPDATE), its owner not;
    # a page of incidents loads its owners in one query (selectinload in queries.py)
    assignee: User | None = Relationship(sa_relationship=relationship(User, lazy="select"))


class TimelineEntry(SQLModel, table=True):
    """Append-only, hash-chained history of an incident: the seller's dispute evidence."""

    __tablename__ = "timeline_entries"
    __table_args__ = (UniqueConstraint("incident_id", "seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    seq: int
    kind: str = Field(max_length=40)
    actor_type: str = Field(max_length=16, description="user, api_key or system.")
    actor_id: uuid.UUID | None = Field(default=None, description="The user's or key's id.")
    actor_name: str = Field(max_length=200)
    summary: str = Field(max_length=1000)
    data: str = Field(sa_type=Text, description="Canonical JSON, hashed exactly as stored.")
    occurred_at: datetime = timestamp_field()
    recorded_at: datetime = timestamp_field()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    hash_version: int = Field(
        default=2,
        description="What the hash covers: 1 the actor's name only (entries written before "
        "migration 0010), 2 the whole actor (type, id, name). See app/incidents/timeline.py.",
    )

    @property
    def actor(self) -> Actor:
        return Actor.stored(self.actor_type, self.actor_id, self.actor_name)


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
    proposed_by: str = Field(max_length=200, description="The proposer's name at the time.")
    proposed_by_type: str = Field(max_length=16, description="user, api_key or system.")
    proposed_by_id: uuid.UUID | None = None
    decided_by: str | None = Field(default=None, max_length=200)
    decided_by_type: str | None = Field(default=None, max_length=16)
    decided_by_id: uuid.UUID | None = None
    decided_at: datetime | None = timestamp_field(nullable=True)
    decision_reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp_field()

    @property
    def proposer(self) -> Actor:
        return Actor.stored(self.proposed_by_type, self.proposed_by_id, self.proposed_by)

    @property
    def decider(self) -> Actor | None:
        if self.decided_by is None or self.decided_by_type is None:
            return None
        return Actor.stored(self.decided_by_type, self.decided_by_id, self.decided_by)
