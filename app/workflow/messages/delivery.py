"""Putting an e-mail to the customer in the message outbox, and recording what became of it.

A message we send is queued in the transaction that records it (like an event's webhook
deliveries), so it is sent at least once or visibly not at all. Its ``delivery`` runs:

    queued ──(the SMTP server took it: its queue id)──────────▶ sent
       └───(refused for good, or retries used up: the reason)─▶ failed
    not_sent  at once: no e-mail address, sending is off, or a proactive notice to a customer
              who asked for none (a reply to the customer's own complaint still goes out)

Every state a message enters is a ``message.delivery_changed`` event and, when the message
belongs to an incident, an entry on its timeline (the caller holds the incident's row lock).
The ``deliver-messages`` job (``app.notify``) does the sending.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

from sqlmodel import Session, col, select

from app.core.actors import Actor
from app.core.settings import Settings
from app.incidents.timeline import append_entry
from app.outbox.events import emit
from app.parcels.models import Parcel
from app.workflow.messages.models import CustomerMessage
from app.workflow.messages.views import message_view

SENDING_OFF = "sending is off: RT_SMTP_HOST is not set"
NO_ADDRESS = "the customer has no e-mail address"
OPTED_OUT = "the customer asked for no proactive notices"


def message_id_domain(settings: Settings) -> str:
    """The right-hand side of our Message-IDs: the domain of ``RT_SMTP_FROM``."""
    address = parseaddr(settings.smtp_from)[1]
    domain = address.rpartition("@")[2]
    return domain or "localhost"


def refusal(
    *, proactive: bool, address: str | None, welcomes_notices: bool, sending_on: bool = True
) -> str | None:
    """The one rule of who gets e-mail, asked when a message is queued (one, or a bulk
    notice's many) and again when it is leased; None when it may go out."""
    if not sending_on:
        return SENDING_OFF
    if not address:
        return NO_ADDRESS
    if proactive and not welcomes_notices:
        return OPTED_OUT
    return None


def why_not_sent(message: CustomerMessage, parcel: Parcel, settings: Settings) -> str | None:
    """Why this message cannot go out at all; None when it can be queued."""
    return refusal(
        proactive=message.proactive,
        address=parcel.customer_email,
        welcomes_notices=parcel.customer_proactive_notices,
        sending_on=bool(settings.smtp_host),
    )


def _thread_parent(session: Session, message: CustomerMessage) -> str | None:
    """The Message-ID of the incident's latest e-mail before this one (its thread)."""
    if message.incident_id is None:
        return None
    return session.exec(
        select(CustomerMessage.email_message_id)
        .where(
            CustomerMessage.incident_id == message.incident_id,
            col(CustomerMessage.email_message_id).is_not(None),
            CustomerMessage.id != message.id,
        )
        .order_by(col(CustomerMessage.occurred_at).desc(), col(CustomerMessage.id).desc())
        .limit(1)
    ).first()


def queue_email(
    session: Session,
    *,
    message: CustomerMessage,
    parcel: Parcel,
    settings: Settings,
    now: datetime,
    send_after: datetime | None = None,
) -> None:
    """Queue ``message`` (flushed, channel e-mail, outbound) for the customer, or say why not.

    ``send_after`` holds it (a notice that must not arrive at night); default: now.
    """
    message.email_to = parcel.customer_email
    message.email_message_id = f"<{message.id.hex}@{message_id_domain(settings)}>"
    message.in_reply_to = _thread_parent(session, message)
    reason = why_not_sent(message, parcel, settings)
    if reason is None:
        message.next_attempt_at = send_after or now
        change_delivery(session, message=message, state="queued", now=now)
    else:
        change_delivery(session, message=message, state="not_sent", now=now, error=reason)


def _described(message: CustomerMessage) -> str:
    state = message.delivery
    if state == "sent":
        return f"E-mail to the customer sent (SMTP queue id {message.smtp_queue_id})"
    if state == "queued":
        held = message.next_attempt_at
        when = (
            f", to go out from {held:%Y-%m-%d %H:%M} UTC"
            if held and held > message.created_at
            else ""
        )
        return f"E-mail to the customer queued{when}"
    if state == "failed":
        return f"E-mail to the customer failed: {message.delivery_error}"
    return f"E-mail to the customer not sent: {message.delivery_error}"


def change_delivery(
    session: Session,
    *,
    message: CustomerMessage,
    state: str,
    now: datetime,
    error: str | None = None,
    queue_id: str | None = None,
) -> None:
    """Move ``message`` to ``state``; a timeline entry (if it has an incident) and an event.

    The caller holds the row lock of the message's incident, if it has one.
    """
    previous = message.delivery
    message.delivery = state
    message.delivery_changed_at = now
    message.delivery_error = error
    if queue_id is not None:
        message.smtp_queue_id = queue_id
    if state != "queued":
        message.next_attempt_at = None
        message.lease_until = None
    session.add(message)
    if message.incident_id is not None:
        append_entry(
            session,
            tenant_id=message.tenant_id,
            incident_id=message.incident_id,
            kind="message_delivery",
            actor=Actor.system(),
            summary=_described(message),
            now=now,
            data={
                "message_id": str(message.id),
                "delivery": state,
                "previous": previous,
                "smtp_queue_id": message.smtp_queue_id,
                "error": error,
            },
        )
    emit(
        session,
        type="message.delivery_changed",
        occurred_at=now,
        tenant_id=message.tenant_id,
        parcel_id=message.parcel_id,
        incident_id=message.incident_id,
        payload={
            "message": message_view(message).model_dump(mode="json"),
            "previous": previous,
        },
    )
