"""Leasing due e-mail: ``FOR UPDATE SKIP LOCKED`` plus a lease, in one short transaction.

A message can be leased when it is queued, due (``next_attempt_at`` has come) and not leased
(or its lease ran out): the ``ix_customer_messages_due`` index holds exactly the queued rows
in that order. The row lock decides which sender leases a row, the lease keeps every other
sender away until the holder has recorded its attempt; on SQLite ``BEGIN IMMEDIATE``
serialises leases instead. The lease is the only write here: no incident lock, so leasing
never waits for a request that holds one.

At lease time the parcel is read again: a customer whose address was removed, or who opted
out of proactive notices since the message was queued, gets nothing (``unsendable``: the
records make it ``not_sent``). An address the seller corrected meanwhile is the one we use.
The e-mail itself is built here too (``app.notify.email``), with the tenant's sender.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_
from sqlmodel import Session, col, select, update

from app.core.settings import Settings
from app.db.types import UTCDateTime
from app.notify.email import build_email
from app.notify.sender import identities
from app.parcels.models import Parcel
from app.workflow.messages.delivery import refusal
from app.workflow.messages.models import IS_QUEUED, CustomerMessage

_NOW = bindparam("now", type_=UTCDateTime)
_LEASE = (
    select(CustomerMessage, Parcel.customer_email, Parcel.customer_proactive_notices)
    .join(Parcel, col(Parcel.id) == col(CustomerMessage.parcel_id))
    .where(
        IS_QUEUED,
        col(CustomerMessage.next_attempt_at) <= _NOW,
        or_(col(CustomerMessage.lease_until).is_(None), col(CustomerMessage.lease_until) < _NOW),
    )
    .order_by(col(CustomerMessage.next_attempt_at), col(CustomerMessage.id))
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=CustomerMessage)
)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One leased message, ready to send (or known not to be sendable)."""

    message_id: uuid.UUID
    lease_until: datetime
    attempts: int  # attempts made before this one
    recipient: str
    mail: bytes | None
    unsendable: str | None = None  # why it must not go out after all


def lease_due(
    session: Session, *, now: datetime, limit: int, lease: timedelta, settings: Settings
) -> list[Outgoing]:
    """Lease up to ``limit`` due messages and build their e-mails; the caller commits."""
    rows = session.exec(_LEASE, params={"now": now, "limit": limit}).all()
    if not rows:
        return []
    lease_until = now + lease
    session.execute(
        update(CustomerMessage)
        .where(col(CustomerMessage.id).in_([message.id for message, _, _ in rows]))
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    senders = identities(session, {message.tenant_id for message, _, _ in rows}, settings)
    leased = []
    for message, address, proactive_ok in rows:
        # sending is on: the job does not run without RT_SMTP_HOST
        reason = refusal(
            proactive=message.proactive, address=address, welcomes_notices=proactive_ok
        )
        if reason is None and address != message.email_to:
            message.email_to = address  # the seller corrected it: write to where it reaches
            session.add(message)
        mail = None
        if reason is None:
            try:
                mail = build_email(message, sender=senders[message.tenant_id], now=now)
            except ValueError as exc:  # one unbuildable message must not stop every tick
                reason = f"the e-mail cannot be built: {exc}"
        leased.append(
            Outgoing(
                message_id=message.id,
                lease_until=lease_until,
                attempts=message.delivery_attempts,
                recipient=address or "",
                mail=mail,
                unsendable=reason,
            )
        )
    session.flush()
    return leased
