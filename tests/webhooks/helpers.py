"""Plain helpers for webhook tests: parcels and events written as the domain writes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.outbox.events import emit
from app.parcels.models import Parcel
from app.webhooks.dispatch.sign import generate_secret
from app.webhooks.endpoints.secrets import encrypt
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import ApiClient

ENDPOINTS = "/v1/webhook-endpoints"


def subscribe(api: ApiClient, url: str, **fields: Any) -> dict[str, Any]:
    response = api.post(ENDPOINTS, json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def tenant_id(db: Database, slug: str = "acme") -> uuid.UUID:
    with db.session() as session:
        tenant = ensure_tenant(session, slug=slug)
        session.commit()
        return tenant.id


def make_parcels(db: Database, tenant: uuid.UUID, count: int, now: datetime) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    with db.session() as session:
        session.execute(
            insert(Parcel),
            [
                {
                    "id": parcel_id,
                    "tenant_id": tenant,
                    "carrier": "sandbox",
                    "tracking_number": f"SANDBOX-INTRANSIT-{parcel_id.hex[:12]}",
                    "order_id": f"SO-{i}",
                    "status": "in_transit",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, parcel_id in enumerate(ids)
            ],
        )
        session.commit()
    return ids


def emit_event(
    db: Database,
    *,
    tenant: uuid.UUID | None,
    type: str,
    at: datetime,
    parcel_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> uuid.UUID:
    """One domain event in its own transaction, through ``emit`` (and so the outbox)."""
    with db.session() as session:
        event = emit(
            session,
            type=type,
            occurred_at=at,
            tenant_id=tenant,
            parcel_id=parcel_id,
            payload=payload or {"parcel_id": str(parcel_id) if parcel_id else None},
        )
        session.commit()
        return event.id


def add_endpoint(
    db: Database,
    *,
    tenant: uuid.UUID,
    url: str,
    server_key: bytes,
    now: datetime,
    event_types: str = "*",
) -> tuple[uuid.UUID, str]:
    """An endpoint row written directly, skipping the save-time URL check (as an endpoint saved
    under older rules or settings would be); its id and plain secret."""
    secret = generate_secret()
    with db.session() as session:
        endpoint = WebhookEndpoint(
            tenant_id=tenant,
            url=url,
            event_types=event_types,
            secret_encrypted=encrypt(server_key, secret),
            created_at=now,
            updated_at=now,
        )
        session.add(endpoint)
        session.commit()
        return endpoint.id, secret


def deliveries(db: Database, endpoint_id: uuid.UUID | str | None = None) -> list[WebhookDelivery]:
    with db.session() as session:
        query = select(WebhookDelivery).order_by(col(WebhookDelivery.id))
        if endpoint_id is not None:
            query = query.where(WebhookDelivery.endpoint_id == uuid.UUID(str(endpoint_id)))
        return list(session.exec(query))


def attempts(db: Database) -> list[WebhookAttempt]:
    with db.session() as session:
        return list(session.exec(select(WebhookAttempt).order_by(col(WebhookAttempt.id))))


def endpoint_row(db: Database, endpoint_id: uuid.UUID | str) -> WebhookEndpoint:
    with db.session() as session:
        endpoint = session.get(WebhookEndpoint, uuid.UUID(str(endpoint_id)))
        assert endpoint is not None
        return endpoint
