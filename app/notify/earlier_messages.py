"""An incident opened for a parcel shows what the customer was told before it existed.

Messages outside any incident (bulk notices) are evidence of what the customer already knew
when they complained, or when detection found the parcel stuck. When an incident opens, each
one becomes an entry of its timeline (kind ``earlier_message``, at the time the message was
written), in the opener's transaction: the opener holds the new incident's row, so the
timeline's sequence cannot race. The entry records the delivery as it stood then; what becomes
of the e-mail later is on the message itself (``GET /v1/parcels/{id}/messages``).
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app.db.tx_cache import per_transaction
from app.incidents.timeline import SYSTEM, append_entry
from app.notify.models import Notice
from app.outbox.models import Event
from app.workflow.messages.models import CustomerMessage


def show_earlier_messages(session: Session, event: Event) -> None:
    """Outbox subscriber: on ``incident.opened``, one entry per message without an incident."""
    if event.type != "incident.opened" or event.incident_id is None or event.parcel_id is None:
        return
    if event.tenant_id is None or not _sends_notices(session, event.tenant_id):
        return
    earlier = session.exec(
        select(CustomerMessage)
        .where(
            CustomerMessage.parcel_id == event.parcel_id,
            col(CustomerMessage.incident_id).is_(None),
            col(CustomerMessage.occurred_at) <= event.occurred_at,
        )
        .order_by(col(CustomerMessage.occurred_at), col(CustomerMessage.id))
    ).all()
    for message in earlier:
        append_entry(
            session,
            tenant_id=message.tenant_id,
            incident_id=event.incident_id,
            kind="earlier_message",
            actor=SYSTEM,
            summary=earlier_summary(message),
            now=event.occurred_at,
            occurred_at=message.occurred_at,
            data={
                "message_id": str(message.id),
                "notice_id": str(message.notice_id) if message.notice_id else None,
                "direction": message.direction,
                "channel": message.channel,
                "template_key": message.template_key,
                "subject": message.subject,
                "delivery": message.delivery,
                "delivery_error": message.delivery_error,
            },
        )


def _sends_notices(session: Session, tenant_id: uuid.UUID) -> bool:
    """Whether the tenant ever sent a notice, read once per transaction: only notices are
    messages outside any incident, and a detection tick opens incidents by the thousand."""
    known: dict[uuid.UUID, bool] = per_transaction(session, "tenant_sends_notices")
    if tenant_id not in known:
        known[tenant_id] = (
            session.exec(select(Notice.id).where(Notice.tenant_id == tenant_id).limit(1)).first()
            is not None
        )
    return known[tenant_id]


def earlier_summary(message: CustomerMessage) -> str:
    """ "Notice e-mailed to the customer before this incident: <summary> (<delivery>)"."""
    if message.proactive and message.channel == "email" and message.direction == "out":
        what = "Notice e-mailed to the customer"
    else:
        arrow = "to" if message.direction == "out" else "from"
        what = f"Message {arrow} the customer ({message.channel})"
    state = {
        "queued": "queued",
        "sent": "sent",
        "failed": f"failed: {message.delivery_error}",
        "not_sent": f"not sent: {message.delivery_error}",
    }.get(message.delivery or "")
    return f"{what} before this incident: {message.summary}" + (f" ({state})" if state else "")
