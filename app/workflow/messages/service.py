"""Customer messages: render a template with the incident's data, record what was exchanged.

An outbound message is recorded with its rendered text, a timeline entry (the text is hashed
into the chain, so it is evidence) and a ``message.created`` event. With ``send`` (e-mail
only) we send it ourselves: it is queued in the same transaction (``delivery``); without,
it records what the agent sent from elsewhere. The first outbound message is the incident's
first response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core.actors import Actor
from app.core.errors import NotFound, ValidationFailed
from app.core.models import Tenant
from app.core.settings import Settings
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.incidents.timeline import append_entry
from app.incidents.views import incident_view
from app.outbox.events import emit
from app.parcels.models import Parcel
from app.workflow.messages.delivery import queue_email
from app.workflow.messages.models import CustomerMessage
from app.workflow.messages.schemas import MessageCreate, MessagePreviewRead
from app.workflow.messages.views import message_view
from app.workflow.templates import renderer
from app.workflow.templates.catalogue import TemplateSpec, parse_params, spec_for
from app.workflow.templates.context import (
    MessageFacts,
    babel_locale,
    build_context,
    customer_language,
)
from app.workflow.templates.library import TemplateText, check_language, resolve_text

MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Composed:
    template_key: str
    language: str
    source: str
    subject: str
    text: str
    html: str


def compose(
    session: Session,
    *,
    incident: Incident | None,
    parcel: Parcel,
    template_key: str,
    language: str | None,
    params: dict[str, object],
    settings: Settings,
    now: datetime,
) -> Composed:
    """Render ``template_key`` for this parcel (and its incident, if the message has one) in
    the customer's language (or ``language``)."""
    spec = spec_for(template_key)
    if incident is None:
        refuse_without_incident(spec)
    values = parse_params(spec, params)
    wanted = check_language(language) if language else customer_language(parcel.customer_locale)
    text = resolve_text(session, tenant_id=parcel.tenant_id, key=template_key, language=wanted)
    tenant = session.get(Tenant, parcel.tenant_id)
    facts = MessageFacts(
        incident=incident,
        parcel=parcel,
        store_name=tenant.name if tenant else "",
        now=now,
        update_business_days=settings.customer_update_business_days,
    )
    return render_composed(text, spec, values, facts)


def refuse_without_incident(spec: TemplateSpec) -> None:
    if spec.needs_incident:
        raise ValidationFailed(
            "template_key",
            f"{spec.key} speaks of an incident (its number or compensation): it can only be "
            "sent in an incident's messages",
        )


def render_composed(
    text: TemplateText, spec: TemplateSpec, values: dict[str, Any], facts: MessageFacts
) -> Composed:
    """Render a resolved text with typed ``values`` (a notice resolves each language once)."""
    locale = babel_locale(facts.parcel.customer_locale, text.language)
    try:
        rendered = renderer.render(
            text.subject, text.body, build_context(facts, spec, values, locale)
        )
    except renderer.TemplateRefused as exc:  # an override that passed the sample but not this
        about = "incident" if facts.incident is not None else "parcel"
        raise ValidationFailed(
            "template_key",
            f"{spec.key} ({text.source}, {text.language}) does not render for this "
            f"{about}: line {exc.line}: {exc.message}",
            line=exc.line,
        ) from None
    return Composed(
        spec.key, text.language, text.source, rendered.subject, rendered.text, rendered.html
    )


def preview_view(composed: Composed) -> MessagePreviewRead:
    return MessagePreviewRead(
        template_key=composed.template_key,
        language=composed.language,
        source="tenant" if composed.source == "tenant" else "library",
        subject=composed.subject,
        body=composed.text,
        body_html=composed.html,
    )


def one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.strip().split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def record_message(
    session: Session,
    *,
    incident: Incident,
    parcel: Parcel,
    body: MessageCreate,
    actor: Actor,
    settings: Settings,
    now: datetime,
    notice_rule: str | None = None,
    send_after: datetime | None = None,
) -> CustomerMessage:
    """Store the message, its timeline entry and event; ``incident`` must be locked.

    ``notice_rule``: a notice the incident type's rule sends by itself (proactive, and not
    anyone's first response); ``send_after`` holds the e-mail (quiet hours).
    """
    occurred_at = body.occurred_at or now
    if body.send and body.occurred_at is not None:
        raise ValidationFailed("occurred_at", "a message we send occurs when it is sent: omit it")
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed("occurred_at", "a message cannot have been exchanged in the future")
    if body.template_key is not None:
        composed = compose(
            session,
            incident=incident,
            parcel=parcel,
            template_key=body.template_key,
            language=body.language,
            params=body.params,
            settings=settings,
            now=now,
        )
        subject: str | None = body.subject or composed.subject
        text, html = composed.text, composed.html
        language: str | None = composed.language
    else:
        assert body.text is not None
        subject, text, html = body.subject, body.text, renderer.escape_text(body.text)
        language = None
    message = CustomerMessage(
        tenant_id=incident.tenant_id,
        parcel_id=parcel.id,
        incident_id=incident.id,
        notice_rule=notice_rule,
        proactive=notice_rule is not None,
        direction=body.direction,
        channel=body.channel,
        template_key=body.template_key,
        language=language,
        subject=subject,
        body=text,
        body_html=html,
        summary=one_line(body.summary or subject or text),
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        occurred_at=occurred_at,
        created_at=now,
    )
    session.add(message)
    session.flush()
    if body.send:
        queue_email(
            session,
            message=message,
            parcel=parcel,
            settings=settings,
            now=now,
            send_after=send_after,
        )
    if body.direction == "out" and notice_rule is None:
        incidents.note_first_response(session, incident, occurred_at, now)
    arrow = "to" if body.direction == "out" else "from"
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="message_sent" if body.direction == "out" else "message_received",
        actor=actor,
        summary=f"Message {arrow} customer ({body.channel}): {message.summary}",
        now=now,
        occurred_at=occurred_at,
        data={
            "message_id": str(message.id),
            "direction": body.direction,
            "channel": body.channel,
            "template_key": body.template_key,
            "language": language,
            "subject": subject,
            "body": text,
        },
    )
    emit(
        session,
        type="message.created",
        occurred_at=now,
        tenant_id=incident.tenant_id,
        parcel_id=parcel.id,
        incident_id=incident.id,
        payload={
            "message": message_view(message).model_dump(mode="json"),
            "incident": incident_view(incident, parcel, now=now).model_dump(mode="json"),
        },
    )
    return message


def list_messages(
    session: Session,
    *,
    incident_id: uuid.UUID | None = None,
    parcel_id: uuid.UUID | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[CustomerMessage]:
    """An incident's messages, or everything about a parcel (in an incident or not).

    Oldest first (a conversation reads top to bottom); keyset pages on (occurred_at, id).
    """
    if (incident_id is None) == (parcel_id is None):
        raise ValueError("list the messages of an incident or of a parcel")
    query = select(CustomerMessage).where(
        CustomerMessage.incident_id == incident_id
        if incident_id is not None
        else CustomerMessage.parcel_id == parcel_id
    )
    if after is not None:
        at, last_id = after
        query = query.where(
            (col(CustomerMessage.occurred_at) > at)
            | ((col(CustomerMessage.occurred_at) == at) & (col(CustomerMessage.id) > last_id))
        )
    query = query.order_by(col(CustomerMessage.occurred_at), col(CustomerMessage.id))
    return list(session.exec(query.limit(limit) if limit else query))


def get_message(
    session: Session, *, incident_id: uuid.UUID, message_id: uuid.UUID
) -> CustomerMessage:
    message = session.get(CustomerMessage, message_id)
    if message is None or message.incident_id != incident_id:
        raise NotFound(f"message {message_id} not found")
    return message
