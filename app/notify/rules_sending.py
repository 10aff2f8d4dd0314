"""An automatic incident opens, its type's rule is on: the customer hears of it at once.

Runs as an outbox subscriber on ``incident.opened``, in the opener's transaction (detection
inserted the incident's row in it, so the timeline's sequence cannot race). The notice is an
ordinary outbound message of the incident (its timeline shows ``message_sent`` and the
delivery, its events are ``message.created`` and ``message.delivery_changed``), marked
``proactive`` and with its ``notice_rule``. It is not anyone's first response: nobody has
looked at the incident yet.

At most one per parcel and incident type, ever: a parcel that stalls twice is told once (the
partial unique index on (parcel_id, notice_rule) backs the check). At night at the destination
the e-mail is held until 08:00 there (``app.notify.quiet_hours``). A template that cannot be
rendered for this parcel (a tenant's override, a return whose reason the carrier does not
give) sends nothing and says why on the timeline, rather than undo the detection tick.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlmodel import Session, select

from app.core.errors import ValidationFailed
from app.incidents.models import Incident
from app.incidents.timeline import SYSTEM, append_entry
from app.notify import rules
from app.notify.process_settings import settings_for
from app.notify.quiet_hours import customer_zone, held_until
from app.outbox.events import NeedsSession, Write
from app.outbox.models import Event
from app.parcels.models import Parcel
from app.workflow.messages.models import CustomerMessage
from app.workflow.messages.schemas import MessageCreate
from app.workflow.messages.service import record_message


def send_rule_notice(session: Session, event: Event) -> None:
    """Outbox subscriber: the enabled rule's notice for a newly opened automatic incident."""
    if event.type != "incident.opened" or event.incident_id is None:
        return
    incident = session.get(Incident, event.incident_id)
    if incident is None or incident.source != "auto":
        return
    rule = rules.rules_of(session, incident.tenant_id).get(incident.type)
    if rule is None or not rule.enabled or _told_before(session, incident):
        return
    parcel = session.get(Parcel, incident.parcel_id)
    assert parcel is not None
    now = event.occurred_at
    body = MessageCreate(
        channel="email",
        template_key=rule.template_key,
        params=rules.params_for(rule, parcel),
        send=True,
    )
    zone = customer_zone(parcel.destination_country, parcel.customer_locale)
    try:
        record_message(
            session,
            incident=incident,
            parcel=parcel,
            body=body,
            actor=SYSTEM,
            settings=settings_for(session),
            now=now,
            notice_rule=incident.type,
            send_after=held_until(now, zone),
        )
    except ValidationFailed as exc:  # refused before anything was written
        append_entry(
            session,
            tenant_id=incident.tenant_id,
            incident_id=incident.id,
            kind="notice_not_sent",
            actor=SYSTEM,
            summary=f"The {incident.type} notice rule sent nothing: {exc.detail}",
            now=now,
            data={"notice_rule": incident.type, "template_key": rule.template_key},
        )


async def send_rule_notice_on_connection(
    _connection: psycopg.AsyncConnection[Any], event: Event
) -> Write | None:
    """``send_rule_notice`` for a writer without the ORM: only automatic incidents have rules,
    and their notice is a whole message with its own events, so one is left to the session."""
    if event.type != "incident.opened" or event.incident_id is None:
        return None
    # The payload is compact JSON (``app.outbox.events.encoded``): an automatic incident's
    # holds this text. Another's may too (in its description, say); it then takes the session,
    # which is slower but right.
    if '"source":"auto"' in event.payload:
        raise NeedsSession("an automatic incident's notice rule")
    return None


def _told_before(session: Session, incident: Incident) -> bool:
    return (
        session.exec(
            select(CustomerMessage.id).where(
                CustomerMessage.parcel_id == incident.parcel_id,
                CustomerMessage.notice_rule == incident.type,
            )
        ).first()
        is not None
    )
