"""Subscriptions: create, change, delete endpoints and rotate their signing secrets.

The URL passes the SSRF guard when it is saved (and again before every send). Secrets are
stored encrypted; the plain secret is returned once, by create and rotate. Another tenant's
endpoint does not exist (404). Functions flush; the caller commits.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session, col, select, update

from app.core.errors import NotFound, ValidationFailed
from app.core.settings import Settings
from app.webhooks.dispatch.sign import generate_secret
from app.webhooks.endpoints import secrets as signing_secrets
from app.webhooks.endpoints.ssrf import Policy, Resolver, UrlRefused, resolve_target
from app.webhooks.models import IS_PENDING, WebhookDelivery, WebhookEndpoint
from app.webhooks.publish import forget_routes, pause, resume
from app.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointRead, WebhookEndpointUpdate


def endpoint_view(endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types.split(),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        failing_since=endpoint.failing_since,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def check_url(url: str, settings: Settings, resolver: Resolver) -> str:
    """The URL if it may receive webhooks; a 422 naming ``url`` otherwise."""
    try:
        resolve_target(url, Policy.from_settings(settings), resolver)
    except UrlRefused as exc:
        raise ValidationFailed("url", str(exc)) from None
    return url


def create_endpoint(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    data: WebhookEndpointCreate,
    settings: Settings,
    resolver: Resolver,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its plain secret (to show once)."""
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        url=check_url(data.url, settings, resolver),
        description=data.description,
        event_types=" ".join(data.event_types),
        enabled=data.enabled,
        disabled_reason=None if data.enabled else "manual",
        disabled_at=None if data.enabled else now,
        secret_encrypted=signing_secrets.encrypt(settings.resolved_secret_key(), secret),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    forget_routes(session)
    return endpoint, secret


def get_endpoint(
    session: Session, *, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, lock: bool = False
) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id,
        WebhookEndpoint.tenant_id == tenant_id,
        col(WebhookEndpoint.deleted_at).is_(None),
    )
    endpoint = session.exec(query.with_for_update() if lock else query).first()
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} does not exist")
    return endpoint


def list_endpoints(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[WebhookEndpoint]:
    """Newest first, keyset-paged on (created_at, id)."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id == tenant_id, col(WebhookEndpoint.deleted_at).is_(None)
    )
    if after is not None:
        at, last_id = after
        query = query.where(
            (col(WebhookEndpoint.created_at) < at)
            | ((col(WebhookEndpoint.created_at) == at) & (col(WebhookEndpoint.id) < last_id))
        )
    query = query.order_by(col(WebhookEndpoint.created_at).desc(), col(WebhookEndpoint.id).desc())
    return list(session.exec(query.limit(limit)))


def set_enabled(session: Session, endpoint: WebhookEndpoint, enabled: bool, now: datetime) -> None:
    """Pending deliveries pause with the endpoint and resume with it."""
    if enabled == endpoint.enabled:
        return
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else "manual"
    endpoint.disabled_at = None if enabled else now
    endpoint.failing_since = None  # a fresh start: days failing before do not count again
    if enabled:
        resume(session, endpoint.id, now)
    else:
        pause(session, endpoint.id)


def update_endpoint(
    session: Session,
    *,
    endpoint: WebhookEndpoint,
    patch: WebhookEndpointUpdate,
    settings: Settings,
    resolver: Resolver,
    now: datetime,
) -> WebhookEndpoint:
    sent = patch.model_fields_set
    for name in ("url", "event_types", "enabled"):
        if name in sent and getattr(patch, name) is None:
            raise ValidationFailed(name, "may not be null")
    if patch.url is not None:
        endpoint.url = check_url(patch.url, settings, resolver)
    if patch.event_types is not None:
        endpoint.event_types = " ".join(patch.event_types)
    if "description" in sent:
        endpoint.description = patch.description
    if patch.enabled is not None:
        set_enabled(session, endpoint, patch.enabled, now)
    endpoint.updated_at = now
    session.add(endpoint)
    session.flush()
    forget_routes(session)
    return endpoint


def delete_endpoint(session: Session, *, endpoint: WebhookEndpoint, now: datetime) -> int:
    """Soft-delete (its delivery history stays) and cancel what it still had to send."""
    endpoint.deleted_at = now
    endpoint.enabled = False
    endpoint.updated_at = now
    session.add(endpoint)
    cancelled = session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.endpoint_id) == endpoint.id)
        .where(IS_PENDING)
        .values(status="cancelled", next_attempt_at=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    forget_routes(session)
    return int(cancelled.rowcount)  # type: ignore[attr-defined]


def rotate_secret(
    session: Session, *, endpoint: WebhookEndpoint, settings: Settings, now: datetime
) -> tuple[str, datetime]:
    """A new secret; the current one keeps signing too during the overlap."""
    secret = generate_secret()
    expires_at = now + timedelta(hours=settings.webhook_secret_overlap_hours)
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = expires_at
    endpoint.secret_encrypted = signing_secrets.encrypt(settings.resolved_secret_key(), secret)
    endpoint.updated_at = now
    session.add(endpoint)
    session.flush()
    return secret, expires_at


class SigningColumns(Protocol):
    """What signing needs of an endpoint: a ``WebhookEndpoint``, or a row of these columns."""

    @property
    def secret_encrypted(self) -> str: ...
    @property
    def previous_secret_encrypted(self) -> str | None: ...
    @property
    def previous_secret_expires_at(self) -> datetime | None: ...


def live_secrets(endpoint: SigningColumns, *, server_key: bytes, now: datetime) -> list[str]:
    """The secrets that sign a message sent ``now``: the current one first.

    A previous secret that no longer decrypts (RT_SECRET_KEY changed, then the secret was
    rotated, as the README says to) is left out; an unreadable current one raises.
    """
    found = [signing_secrets.decrypt(server_key, endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        with suppress(signing_secrets.SecretUnreadable):
            found.append(signing_secrets.decrypt(server_key, endpoint.previous_secret_encrypted))
    return found
