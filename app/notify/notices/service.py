"""Bulk notices: one message to the customers of many parcels (a holiday pause, a backlog).

A dry run (the default) answers how many customers it reaches and how (no address, opted
out, to send) and renders up to three samples; it stores nothing. A real run stores the
``Notice`` and one ``CustomerMessage`` per matched parcel in the request's transaction, each
rendered in its customer's language and put in the message outbox (``queue_email``): queued
(held until 08:00 at the customer's if written at night, ``app.notify.quiet_hours``) or
``not_sent`` with the reason, each with its ``message.delivery_changed`` event. The messages
belong to no incident: an incident opened later shows them (``app.notify.earlier_messages``).

A client retrying with the same Idempotency-Key gets the first answer back
(``app.api.idempotency``); the unique (notice_id, parcel_id) keeps one notice from ever
writing a parcel's message twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.core.actors import Actor
from app.core.errors import NotFound, ValidationFailed
from app.core.models import Tenant
from app.core.settings import Settings
from app.notify.models import Notice
from app.notify.notices.filters import matching_parcels
from app.notify.notices.outbox import Outgoing, queue_notice
from app.notify.notices.schemas import NoticeCreate, NoticeDryRunRead, NoticeSampleRead
from app.notify.quiet_hours import customer_zone, held_until
from app.parcels.models import Parcel
from app.workflow.messages.service import (
    Composed,
    one_line,
    refuse_without_incident,
    render_composed,
)
from app.workflow.templates.catalogue import TemplateSpec, parse_params, spec_for
from app.workflow.templates.context import MessageFacts, customer_language
from app.workflow.templates.library import TemplateText, resolve_text

SAMPLES = 3


@dataclass(frozen=True, slots=True)
class Plan:
    """What a notice would do: its template, checked parameters and the parcels it reaches."""

    spec: TemplateSpec
    values: dict[str, Any]
    parcels: list[Parcel]

    @property
    def no_email(self) -> int:
        return sum(1 for p in self.parcels if not p.customer_email)

    @property
    def opted_out(self) -> int:
        return sum(1 for p in self.parcels if p.customer_email and not p.customer_proactive_notices)


def plan_notice(
    session: Session, *, tenant_id: uuid.UUID, body: NoticeCreate, settings: Settings, now: datetime
) -> Plan:
    try:
        spec = spec_for(body.template_key)
    except NotFound as exc:
        raise ValidationFailed("template_key", exc.detail) from None
    refuse_without_incident(spec)
    values = parse_params(spec, body.params)
    parcels, total = matching_parcels(
        session,
        tenant_id=tenant_id,
        criteria=body.filter,
        now=now,
        keep=settings.notice_max_parcels,
    )
    if total > settings.notice_max_parcels:
        raise ValidationFailed(
            "filter",
            f"matches {total} parcels; one notice goes to at most "
            f"{settings.notice_max_parcels} (RT_NOTICE_MAX_PARCELS): narrow the filter or "
            "send it in parts",
        )
    return Plan(spec, values, parcels)


class NoticeRenderer:
    """Renders one notice for many parcels: each language's text and the store's name are
    read once, then every parcel is only a render."""

    def __init__(
        self,
        session: Session,
        *,
        plan: Plan,
        tenant_id: uuid.UUID,
        settings: Settings,
        now: datetime,
    ) -> None:
        self._session, self._plan, self._tenant_id = session, plan, tenant_id
        self._now, self._days = now, settings.customer_update_business_days
        tenant = session.get(Tenant, tenant_id)
        self._store_name = tenant.name if tenant else ""
        self._texts: dict[str, TemplateText] = {}

    def _text(self, language: str) -> TemplateText:
        if language not in self._texts:
            self._texts[language] = resolve_text(
                self._session, tenant_id=self._tenant_id, key=self._plan.spec.key, language=language
            )
        return self._texts[language]

    def __call__(self, parcel: Parcel) -> Composed:
        facts = MessageFacts(
            incident=None,
            parcel=parcel,
            store_name=self._store_name,
            now=self._now,
            update_business_days=self._days,
        )
        text = self._text(customer_language(parcel.customer_locale))
        return render_composed(text, self._plan.spec, self._plan.values, facts)


def dry_run(
    session: Session, *, tenant_id: uuid.UUID, body: NoticeCreate, settings: Settings, now: datetime
) -> NoticeDryRunRead:
    plan = plan_notice(session, tenant_id=tenant_id, body=body, settings=settings, now=now)
    render = NoticeRenderer(session, plan=plan, tenant_id=tenant_id, settings=settings, now=now)
    samples = []
    for parcel in sample_parcels(plan.parcels):
        composed = render(parcel)
        samples.append(
            NoticeSampleRead(
                parcel_id=parcel.id,
                order_id=parcel.order_id,
                language=composed.language,
                subject=composed.subject,
                body=composed.text,
                body_html=composed.html,
            )
        )
    reachable = len(plan.parcels) - plan.no_email - plan.opted_out
    return NoticeDryRunRead(
        count=len(plan.parcels),
        no_email_count=plan.no_email,
        opted_out_count=plan.opted_out,
        to_send=reachable if settings.smtp_host else 0,
        sending_off=not settings.smtp_host,
        samples=samples,
    )


def sample_parcels(parcels: list[Parcel], count: int = SAMPLES) -> list[Parcel]:
    """Up to ``count`` parcels, one per customer language first (in the order met)."""
    chosen: dict[str, Parcel] = {}
    for parcel in parcels:
        chosen.setdefault(customer_language(parcel.customer_locale), parcel)
        if len(chosen) == count:
            break
    picked = list(chosen.values())
    rest = (p for p in parcels if all(p is not q for q in picked))
    picked += [p for _, p in zip(range(count - len(picked)), rest, strict=False)]
    return picked


def send_notice(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    body: NoticeCreate,
    actor: Actor,
    settings: Settings,
    now: datetime,
) -> Notice:
    """Store the notice and queue its messages; a filter that matches nothing is refused."""
    plan = plan_notice(session, tenant_id=tenant_id, body=body, settings=settings, now=now)
    if not plan.parcels:
        raise ValidationFailed("filter", "matches no parcel: nothing to send")
    notice = Notice(
        tenant_id=tenant_id,
        template_key=plan.spec.key,
        params=json.dumps(body.params, default=str),
        filters=body.filter.model_dump_json(exclude_none=True),
        parcel_count=len(plan.parcels),
        no_email_count=plan.no_email,
        opted_out_count=plan.opted_out,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        created_at=now,
    )
    session.add(notice)
    session.flush()
    render = NoticeRenderer(session, plan=plan, tenant_id=tenant_id, settings=settings, now=now)
    outgoing = []
    for parcel in plan.parcels:
        composed = render(parcel)
        zone = customer_zone(parcel.destination_country, parcel.customer_locale)
        held = held_until(now, zone) if body.quiet_hours else None
        outgoing.append(
            Outgoing(
                parcel=parcel,
                language=composed.language,
                subject=composed.subject,
                text=composed.text,
                html=composed.html,
                summary=one_line(composed.subject),
                send_after=held,
            )
        )
    queue_notice(
        session,
        notice_id=notice.id,
        template_key=plan.spec.key,
        messages=outgoing,
        actor=actor,
        settings=settings,
        now=now,
    )
    session.flush()
    return notice
