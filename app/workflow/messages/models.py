"""Messages exchanged with the customer about a parcel (and its incident, if it has one).

A message is evidence of what the customer was told, and (for e-mail we send) a row of the
message outbox: ``delivery`` runs ``queued`` → ``sent`` / ``failed``, or is ``not_sent`` at
once (no address, sending off, the customer opted out); the ``deliver-messages`` job leases
queued rows with ``next_attempt_at`` due (see ``app.notify.job``). A message we only record
(the agent sent it from elsewhere, or the customer wrote) has no ``delivery``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Text, text
from sqlmodel import Field, SQLModel

from app.core.actors import Actor
from app.db.tables import timestamp_field

DELIVERY_STATES = ("queued", "sent", "failed", "not_sent")
IS_QUEUED = text("customer_messages.delivery = 'queued'")


class CustomerMessage(SQLModel, table=True):
    """A message to or from the customer: recorded, or queued for us to send by e-mail."""

    __tablename__ = "customer_messages"
    __table_args__ = (
        Index(
            "ix_customer_messages_incident_id_occurred_at_id", "incident_id", "occurred_at", "id"
        ),
        Index("ix_customer_messages_parcel_id_occurred_at_id", "parcel_id", "occurred_at", "id"),
        Index(  # the sender's lease reads only queued rows, in the order it takes them
            "ix_customer_messages_due",
            "next_attempt_at",
            "id",
            sqlite_where=text("delivery = 'queued'"),
            postgresql_where=text("delivery = 'queued'"),
        ),
        # one message per parcel per bulk notice: a retried notice never writes twice
        Index("ix_customer_messages_notice_id_parcel_id", "notice_id", "parcel_id", unique=True),
        # an automatic notice goes out at most once per parcel per incident type
        Index(
            "ix_customer_messages_parcel_id_notice_rule",
            "parcel_id",
            "notice_rule",
            unique=True,
            sqlite_where=text("notice_rule IS NOT NULL"),
            postgresql_where=text("notice_rule IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    parcel_id: uuid.UUID = Field(foreign_key="parcels.id")
    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incidents.id")
    notice_id: uuid.UUID | None = Field(default=None, foreign_key="notices.id")
    notice_rule: str | None = Field(
        default=None, max_length=32, description="The incident type whose notice rule sent it."
    )
    proactive: bool = Field(
        default=False, description="We told the customer first (a notice), not a reply."
    )
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
    # sending (only for e-mail we send; all null for a message we only record)
    email_to: str | None = Field(default=None, max_length=320)
    delivery: str | None = Field(
        default=None, max_length=16, description="queued, sent, failed or not_sent."
    )
    delivery_changed_at: datetime | None = timestamp_field(nullable=True)
    delivery_error: str | None = Field(
        default=None, max_length=500, description="Why it failed or was not sent."
    )
    smtp_queue_id: str | None = Field(
        default=None, max_length=200, description="The SMTP server's answer when it took it."
    )
    delivery_attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field(nullable=True)
    lease_until: datetime | None = timestamp_field(nullable=True)
    email_message_id: str | None = Field(
        default=None, max_length=255, description="Our Message-ID header, with its <>."
    )
    in_reply_to: str | None = Field(
        default=None, max_length=255, description="The Message-ID this one follows in its thread."
    )

    @property
    def actor(self) -> Actor:
        return Actor.stored(self.actor_type, self.actor_id, self.actor_name)
