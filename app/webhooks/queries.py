"""Reading deliveries and their attempts, as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from app.webhooks.dispatch.payloads import message_id
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from app.webhooks.schemas import WebhookAttemptRead, WebhookDeliveryDetail, WebhookDeliveryRead


def delivery_view(delivery: WebhookDelivery) -> WebhookDeliveryRead:
    assert delivery.id is not None
    return WebhookDeliveryRead(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        webhook_id=message_id(delivery.event_id),
        event_type=delivery.event_type,
        parcel_id=delivery.parcel_id,
        occurred_at=delivery.occurred_at,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_attempt_at=delivery.last_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )


def attempt_view(attempt: WebhookAttempt) -> WebhookAttemptRead:
    return WebhookAttemptRead(
        attempted_at=attempt.attempted_at,
        status_code=attempt.status_code,
        latency_ms=attempt.latency_ms,
        error=attempt.error,
        response_excerpt=attempt.response_excerpt,
    )


def delivery_detail(session: Session, delivery: WebhookDelivery) -> WebhookDeliveryDetail:
    attempts = session.exec(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(col(WebhookAttempt.id))
    )
    return WebhookDeliveryDetail(
        **delivery_view(delivery).model_dump(), attempt_log=[attempt_view(a) for a in attempts]
    )


def list_deliveries(
    session: Session,
    *,
    endpoint_id: uuid.UUID,
    status: str | None,
    event_type: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Newest first, keyset-paged on (created_at, event_id): unique per endpoint."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if event_type is not None:
        query = query.where(WebhookDelivery.event_type == event_type)
    if after is not None:
        at, last_event = after
        query = query.where(
            (col(WebhookDelivery.created_at) < at)
            | (
                (col(WebhookDelivery.created_at) == at)
                & (col(WebhookDelivery.event_id) < last_event)
            )
        )
    query = query.order_by(
        col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.event_id).desc()
    )
    return list(session.exec(query.limit(limit)))
