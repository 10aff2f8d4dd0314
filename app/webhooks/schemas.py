"""Webhook API schemas: endpoints (subscriptions), deliveries, attempts, event types.

``event_types`` is a list of event type names, or ``["*"]`` for every type (the default).
The signing secret appears only in the answers to create and rotate-secret.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from app.core.schemas import InputModel, UtcDatetime
from app.outbox.events import EVENT_TYPES
from app.webhooks.publish import ALL_TYPES

DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]


def _known_types(value: list[str]) -> list[str]:
    if ALL_TYPES in value:
        if len(value) > 1:
            raise ValueError("'*' (every type) cannot be combined with named types")
        return value
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; see GET /v1/event-types")
    return sorted(set(value))


EventTypeList = Annotated[
    list[str],
    Field(min_length=1, max_length=len(EVENT_TYPES), examples=[["incident.opened"], ["*"]]),
    AfterValidator(_known_types),
]
WebhookUrl = Annotated[
    str, Field(min_length=1, max_length=2000, examples=["https://hooks.example.com/rt"])
]


class WebhookEndpointCreate(InputModel):
    url: WebhookUrl
    event_types: EventTypeList = Field(default_factory=lambda: [ALL_TYPES])
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = True


class WebhookEndpointUpdate(InputModel):
    """Only the fields sent change; ``enabled: true`` re-enables a disabled endpoint."""

    url: WebhookUrl | None = None
    event_types: EventTypeList | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class WebhookEndpointRead(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="'manual', 'gone' (the endpoint answered 410) or 'failing' (no success "
        "for RT_WEBHOOK_DISABLE_AFTER_DAYS)."
    )
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="First failure since the last success.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret replaced by the last rotation also signs."
    )
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpointRead):
    secret: str = Field(description="The signing secret (whsec_...): shown this once only.")


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret: shown this once only.")
    previous_secret_expires_at: datetime = Field(
        description="Both secrets sign every message until then."
    )


class WebhookAttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None = Field(description="The first 2 KB of the answer.")


class WebhookDeliveryRead(BaseModel):
    id: int
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt.")
    event_type: str
    parcel_id: uuid.UUID | None
    occurred_at: datetime
    status: DeliveryStatus
    attempts: int = Field(description="Attempts since it was queued (or requeued).")
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookDeliveryDetail(WebhookDeliveryRead):
    attempt_log: list[WebhookAttemptRead] = Field(description="Every attempt, oldest first.")


class ReplayCreate(InputModel):
    since: UtcDatetime = Field(description="Resend every event that occurred at or after this.")
    until: UtcDatetime | None = Field(default=None, description="... and before this.")


class ReplayRead(BaseModel):
    queued: int = Field(description="Deliveries queued for sending.")


class EventTypeRead(BaseModel):
    type: str
    description: str
    example: dict[str, Any] = Field(description="A body as it is sent, with made-up values.")
