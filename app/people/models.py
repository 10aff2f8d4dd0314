"""Tables: a tenant's people, and the failed sign-ins that throttle guessing."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.tables import timestamp_field


class User(SQLModel, table=True):
    """A person who signs in to the desk. The e-mail is stored lower-cased."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # no index of its own: the unique (tenant_id, email) one starts with it
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    email: str = Field(max_length=320, index=True)  # one e-mail may be in several tenants
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=16, description="agent, supervisor or admin (app.people.roles).")
    password_hash: str = Field(max_length=255, description="Argon2id, in its PHC string form.")
    created_at: datetime = timestamp_field()
    disabled_at: datetime | None = timestamp_field(nullable=True)
    password_changed_at: datetime = timestamp_field()
    session_epoch: int = Field(
        default=0, description="Bumped on disable and password reset: older sessions end."
    )

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class SignInFailure(SQLModel, table=True):
    """One refused sign-in, counted against an account or a client address for 15 minutes.

    ``scope`` is a SHA-256 of ``account:<e-mail>`` or ``address:<address>``: the table holds
    neither e-mail addresses nor IP addresses, and every replica counts the same rows.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_scope_failed_at", "scope", "failed_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    scope: str = Field(max_length=64)
    failed_at: datetime = timestamp_field(index=True)
