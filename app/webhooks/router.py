"""Webhooks: subscriptions, their deliveries, retries, replays, tests, and the event catalogue.

Everything but the catalogue needs the ``webhooks:manage`` scope. Another tenant's endpoint
or delivery is 404. A signing secret is shown once, by create and rotate-secret.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.api.deps import NowDep, ReadDep, SessionDep, SettingsDep, require
from app.api.one_thread import OneThreadRoute
from app.api.pages import (
    PageSizeQuery,
    PageTokenQuery,
    keyset_page,
)
from app.core.schemas import Page
from app.core.tenancy import Principal
from app.outbox.events import EVENT_TYPES
from app.webhooks import redelivery
from app.webhooks.endpoints import service as endpoints
from app.webhooks.endpoints.ssrf import Resolver, system_resolver
from app.webhooks.examples import example_body
from app.webhooks.queries import delivery_detail, delivery_view, list_deliveries
from app.webhooks.schemas import (
    DeliveryStatus,
    EventTypeRead,
    ReplayCreate,
    ReplayRead,
    SecretRotated,
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
)

router = APIRouter(tags=["webhooks"], route_class=OneThreadRoute)
ManageDep = Annotated[Principal, Depends(require("webhooks:manage"))]


def get_url_resolver() -> Resolver:
    """DNS for the SSRF check when an endpoint is saved (tests override it)."""
    return system_resolver


ResolverDep = Annotated[Resolver, Depends(get_url_resolver)]
ENDPOINTS = "/v1/webhook-endpoints"
# A BIGINT key: a larger number cannot name a delivery, and the driver would fail on it (500).
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post(ENDPOINTS, status_code=status.HTTP_201_CREATED, response_model=WebhookEndpointCreated)
def create_endpoint(
    body: WebhookEndpointCreate,
    principal: ManageDep,
    session: SessionDep,
    settings: SettingsDep,
    resolver: ResolverDep,
    now: NowDep,
    response: Response,
) -> WebhookEndpointCreated:
    """Subscribe a URL; the answer carries its signing secret, shown this once only."""
    endpoint, secret = endpoints.create_endpoint(
        session,
        tenant_id=principal.tenant_id,
        data=body,
        settings=settings,
        resolver=resolver,
        now=now,
    )
    response.headers["Location"] = f"{ENDPOINTS}/{endpoint.id}"
    view = endpoints.endpoint_view(endpoint)
    return WebhookEndpointCreated(**view.model_dump(), secret=secret)


@router.get(ENDPOINTS, response_model=Page[WebhookEndpointRead])
def list_endpoints(
    principal: ManageDep,
    session: SessionDep,
    settings: SettingsDep,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[WebhookEndpointRead]:
    return keyset_page(
        settings,
        filters={},
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: endpoints.list_endpoints(
            session, tenant_id=principal.tenant_id, after=after, limit=limit
        ),
        position=lambda e: (e.created_at, e.id),
        view=endpoints.endpoint_view,
    )


@router.get(ENDPOINTS + "/{endpoint_id}", response_model=WebhookEndpointRead)
def get_endpoint(
    endpoint_id: uuid.UUID, principal: ManageDep, session: SessionDep
) -> WebhookEndpointRead:
    endpoint = endpoints.get_endpoint(
        session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id
    )
    return endpoints.endpoint_view(endpoint)


@router.patch(ENDPOINTS + "/{endpoint_id}", response_model=WebhookEndpointRead)
def update_endpoint(
    endpoint_id: uuid.UUID,
    body: WebhookEndpointUpdate,
    principal: ManageDep,
    session: SessionDep,
    settings: SettingsDep,
    resolver: ResolverDep,
    now: NowDep,
) -> WebhookEndpointRead:
    """Change the URL, types, description; ``enabled: true`` re-enables a disabled endpoint."""
    endpoint = endpoints.get_endpoint(
        session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, lock=True
    )
    endpoints.update_endpoint(
        session, endpoint=endpoint, patch=body, settings=settings, resolver=resolver, now=now
    )
    return endpoints.endpoint_view(endpoint)


@router.delete(ENDPOINTS + "/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_endpoint(
    endpoint_id: uuid.UUID, principal: ManageDep, session: SessionDep, now: NowDep
) -> Response:
    """Stop sending to it; deliveries still pending are cancelled, the history stays."""
    endpoint = endpoints.get_endpoint(
        session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, lock=True
    )
    endpoints.delete_endpoint(session, endpoint=endpoint, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(ENDPOINTS + "/{endpoint_id}/rotate-secret", response_model=SecretRotated)
def rotate_secret(
    endpoint_id: uuid.UUID,
    principal: ManageDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> SecretRotated:
    """A new secret; the old one keeps signing too for RT_WEBHOOK_SECRET_OVERLAP_HOURS."""
    endpoint = endpoints.get_endpoint(
        session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, lock=True
    )
    secret, expires_at = endpoints.rotate_secret(
        session, endpoint=endpoint, settings=settings, now=now
    )
    return SecretRotated(secret=secret, previous_secret_expires_at=expires_at)


@router.get(ENDPOINTS + "/{endpoint_id}/deliveries", response_model=Page[WebhookDeliveryRead])
def deliveries_of_endpoint(
    endpoint_id: uuid.UUID,
    principal: ManageDep,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[WebhookDeliveryRead]:
    """Newest first; filter by ``status`` and ``event_type``."""
    endpoint = endpoints.get_endpoint(
        session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id
    )
    filters = {"endpoint": str(endpoint.id), "status": status, "event_type": event_type}
    return keyset_page(
        settings,
        filters=filters,
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: list_deliveries(
            session,
            endpoint_id=endpoint.id,
            status=status,
            event_type=event_type,
            after=after,
            limit=limit,
        ),
        position=lambda d: (d.created_at, d.event_id),
        view=delivery_view,
    )


@router.post(
    ENDPOINTS + "/{endpoint_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReplayRead,
)
def replay(
    endpoint_id: uuid.UUID,
    body: ReplayCreate,
    principal: ManageDep,
    session: SessionDep,
    now: NowDep,
) -> ReplayRead:
    """Resend every subscribed event since ``since`` (e.g. after an outage), oldest first."""
    endpoint = endpoints.get_endpoint(
        session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id
    )
    queued = redelivery.replay(
        session, endpoint=endpoint, since=body.since, until=body.until, now=now
    )
    return ReplayRead(queued=queued)


@router.post(
    ENDPOINTS + "/{endpoint_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryRead,
)
def send_test(
    endpoint_id: uuid.UUID, principal: ManageDep, session: SessionDep, now: NowDep
) -> WebhookDeliveryRead:
    """Queue a ``webhook.test`` event for this endpoint; follow it with GET on the delivery."""
    endpoint = endpoints.get_endpoint(
        session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id
    )
    delivery = redelivery.send_test(session, endpoint=endpoint, now=now)
    return delivery_view(delivery)


@router.get("/v1/webhook-deliveries/{delivery_id}", response_model=WebhookDeliveryDetail)
def get_delivery(
    delivery_id: DeliveryId, principal: ManageDep, session: SessionDep
) -> WebhookDeliveryDetail:
    """One delivery with every attempt (time, status, latency, error, answer excerpt)."""
    delivery = redelivery.get_delivery(
        session, tenant_id=principal.tenant_id, delivery_id=delivery_id
    )
    return delivery_detail(session, delivery)


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryRead,
)
def retry_delivery(
    delivery_id: DeliveryId, principal: ManageDep, session: SessionDep, now: NowDep
) -> WebhookDeliveryRead:
    """Send it again now, with a fresh retry schedule (same webhook-id, same body)."""
    delivery = redelivery.retry_delivery(
        session, tenant_id=principal.tenant_id, delivery_id=delivery_id, now=now
    )
    return delivery_view(delivery)


@router.get("/v1/event-types", response_model=Page[EventTypeRead])
def event_types(principal: ReadDep) -> Page[EventTypeRead]:
    """Every event a webhook endpoint can subscribe to, with an example body."""
    return Page[EventTypeRead](
        items=[
            EventTypeRead(type=name, description=text, example=example_body(name))
            for name, text in EVENT_TYPES.items()
        ],
        next_page_token=None,
    )
