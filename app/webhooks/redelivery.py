"""Sending again on request: retry one delivery, replay an endpoint since a time, send a test.

A requeued delivery keeps its ``webhook-id`` (the event id) and its body, starts a fresh
retry schedule, and is sent by the dispatcher like any other. Replay also creates the
deliveries an endpoint never got (events while it was disabled), so "everything since" means
every event of the tenant it subscribes to. Functions flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session, col, or_, select, update

from app.core.errors import Conflict, NotFound
from app.outbox.events import emit
from app.outbox.models import Event
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.publish import ALL_TYPES, TARGETED_TYPES, delivery_for
from app.webhooks.wake import wake_dispatcher_on_commit

CHUNK = 500
T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def get_delivery(session: Session, *, tenant_id: uuid.UUID, delivery_id: int) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.tenant_id != tenant_id:
        raise NotFound(f"webhook delivery {delivery_id} does not exist")
    return delivery


def _requeue_values(endpoint: WebhookEndpoint, now: datetime) -> dict[str, object]:
    """Pending from now on, or paused (unscheduled) while the endpoint is disabled."""
    return {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now if endpoint.enabled else None,
        "lease_until": None,
    }


def retry_delivery(
    session: Session, *, tenant_id: uuid.UUID, delivery_id: int, now: datetime
) -> WebhookDelivery:
    delivery = get_delivery(session, tenant_id=tenant_id, delivery_id=delivery_id)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise Conflict("the endpoint of this delivery was deleted; nothing to send it to")
    for name, value in _requeue_values(endpoint, now).items():
        setattr(delivery, name, value)
    session.add(delivery)
    session.flush()
    if endpoint.enabled:
        wake_dispatcher_on_commit(session)
    return delivery


def replay(
    session: Session,
    *,
    endpoint: WebhookEndpoint,
    since: datetime,
    until: datetime | None,
    now: datetime,
) -> int:
    """Queue every event since ``since`` (and before ``until``) the endpoint subscribes to."""
    query = select(Event).where(
        or_(Event.tenant_id == endpoint.tenant_id, col(Event.tenant_id).is_(None)),
        col(Event.occurred_at) >= since,
        col(Event.type).not_in(TARGETED_TYPES),
    )
    if until is not None:
        query = query.where(col(Event.occurred_at) < until)
    types = endpoint.event_types.split()
    if ALL_TYPES not in types:
        query = query.where(col(Event.type).in_(types))
    events = list(session.exec(query.order_by(col(Event.occurred_at))))
    queued = 0
    for chunk in _chunks(events):
        ids = [event.id for event in chunk]
        existing = set(
            session.exec(
                select(WebhookDelivery.event_id)
                .where(WebhookDelivery.endpoint_id == endpoint.id)
                .where(col(WebhookDelivery.event_id).in_(ids))
            )
        )
        session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.endpoint_id) == endpoint.id)
            .where(col(WebhookDelivery.event_id).in_(list(existing)))
            .values(**_requeue_values(endpoint, now))
            .execution_options(synchronize_session=False)
        )
        for event in chunk:
            if event.id not in existing:
                delivery = delivery_for(
                    event, endpoint_id=endpoint.id, tenant_id=endpoint.tenant_id
                )
                delivery.created_at = now
                delivery.next_attempt_at = now if endpoint.enabled else None
                session.add(delivery)
        queued += len(chunk)
        session.flush()
    if queued and endpoint.enabled:
        wake_dispatcher_on_commit(session)
    return queued


def send_test(session: Session, *, endpoint: WebhookEndpoint, now: datetime) -> WebhookDelivery:
    """A ``webhook.test`` event, delivered to this endpoint only."""
    event = emit(
        session,
        type="webhook.test",
        occurred_at=now,
        tenant_id=endpoint.tenant_id,
        payload={
            "endpoint_id": str(endpoint.id),
            "message": "A test from Resolution Tracker: your endpoint receives our webhooks.",
        },
    )
    # webhook.test is a targeted type: emit fanned it out to nobody, it goes here only
    delivery = delivery_for(event, endpoint_id=endpoint.id, tenant_id=endpoint.tenant_id)
    session.add(delivery)
    session.flush()
    wake_dispatcher_on_commit(session)
    return delivery
