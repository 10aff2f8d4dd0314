"""Leasing due deliveries: ``FOR UPDATE SKIP LOCKED`` plus a lease, in one short transaction.

("Claims" are carrier claims elsewhere in the service; here a dispatcher *leases* rows.)

A delivery can be leased when it is pending, due, not leased (or its lease ran out), its
endpoint is enabled, and no earlier delivery of the same (endpoint, parcel) is still pending:
that keeps one parcel's events in the order they occurred (earlier = older ``occurred_at``,
then lower ``id``). Two dispatchers never hold the same row: the row lock decides who leases
it, the lease keeps everyone else away until the holder has recorded its attempt. On SQLite
``BEGIN IMMEDIATE`` serialises leases instead.

On PostgreSQL one statement locks the due rows, sets their lease and returns them with their
events (a claim was four statements: this halved the dispatcher's CPU per leased row). A row
whose endpoint turns out to be stopped is then set right in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Row, and_, bindparam, exists, literal_column, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, update

from app.db.types import UTCDateTime
from app.outbox.models import Event
from app.webhooks.dispatch import payloads
from app.webhooks.dispatch.sender import Message
from app.webhooks.endpoints.secrets import SecretUnreadable
from app.webhooks.endpoints.service import SigningColumns, live_secrets
from app.webhooks.models import IS_PENDING, WebhookDelivery, WebhookEndpoint

Delivery = WebhookDelivery


_LEASED_COLUMNS = (
    col(Delivery.id),
    col(Delivery.endpoint_id),
    col(Delivery.event_id),
    col(Delivery.parcel_id),
    col(Delivery.occurred_at),
    col(Delivery.attempts),
)
_EVENT_COLUMNS = (
    col(Event.id),
    col(Event.type),
    col(Event.occurred_at),
    col(Event.parcel_id),
    col(Event.incident_id),
    col(Event.payload),
)


def _lease_statement() -> sa.Select[
    int | None, uuid.UUID, uuid.UUID, uuid.UUID | None, datetime, int
]:
    """Built once: due, unleased, nothing earlier of the same parcel pending (plain rows:
    building ORM objects for every leased row costs the dispatcher more than the query).

    The deliveries table alone, in the order of its due index, so (with planner statistics)
    the plan is an ordered index scan that stops after ``limit`` rows. The
    endpoint needs no join: a disabled endpoint's pending deliveries are unscheduled
    (``publish.pause``) and a deleted one's are cancelled, so none of them is due.
    """
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        col(earlier.endpoint_id) == col(Delivery.endpoint_id),
        col(earlier.parcel_id) == col(Delivery.parcel_id),
        col(earlier.status) == literal_column("'pending'"),
        or_(
            col(earlier.occurred_at) < col(Delivery.occurred_at),
            and_(
                col(earlier.occurred_at) == col(Delivery.occurred_at),
                col(earlier.id) < col(Delivery.id),
            ),
        ),
    )
    return (
        sa.select(*_LEASED_COLUMNS)
        .where(
            IS_PENDING,
            col(Delivery.next_attempt_at) <= _NOW,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < _NOW),
            ~blocked,
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=Delivery)
    )


_NOW = bindparam("now", type_=UTCDateTime)
_LEASE = _lease_statement()


def _lease_and_read_statement() -> sa.Update:
    """PostgreSQL, built once: lock the due rows (``_LEASE``), set their lease and return them
    with their events' columns, in one statement and one round trip."""
    due = _LEASE.cte("due")
    return (
        update(Delivery)
        .where(col(Delivery.id) == due.c.id, col(Event.id) == col(Delivery.event_id))
        .values(lease_until=bindparam("until", type_=UTCDateTime))
        .returning(
            *_LEASED_COLUMNS,
            col(Event.type),
            col(Event.occurred_at).label("event_occurred_at"),
            col(Event.parcel_id).label("event_parcel_id"),
            col(Event.incident_id),
            col(Event.payload),
        )
    )


_LEASE_AND_READ = _lease_and_read_statement()


class _LeasedEvent:
    """An event's columns as the combined statement returns them (``payloads.StoredEvent``)."""

    __slots__ = ("incident_id", "occurred_at", "parcel_id", "payload", "type")

    def __init__(self, row: Row[Any]) -> None:
        self.type: str = row.type
        self.occurred_at: datetime = row.event_occurred_at
        self.parcel_id: uuid.UUID | None = row.event_parcel_id
        self.incident_id: uuid.UUID | None = row.incident_id
        self.payload: str = row.payload


_ENDPOINT_COLUMNS = sa.select(
    col(WebhookEndpoint.id),
    col(WebhookEndpoint.url),
    col(WebhookEndpoint.enabled),
    col(WebhookEndpoint.deleted_at),
    col(WebhookEndpoint.secret_encrypted),
    col(WebhookEndpoint.previous_secret_encrypted),
    col(WebhookEndpoint.previous_secret_expires_at),
).where(col(WebhookEndpoint.id).in_(bindparam("ids", expanding=True)))


EndpointRow = Row[uuid.UUID, str, bool, datetime | None, str, str | None, datetime | None]


def _signing(
    endpoint: SigningColumns, server_key: bytes, now: datetime
) -> tuple[tuple[str, ...], str | None]:
    """The endpoint's live secrets, or why its messages cannot be signed."""
    try:
        return tuple(live_secrets(endpoint, server_key=server_key, now=now)), None
    except SecretUnreadable as exc:
        return (), str(exc)


def _unless_endpoint_stopped(
    session: Session, rows: Sequence[Row[Any]], endpoints: dict[uuid.UUID, EndpointRow]
) -> list[Row[Any]]:
    """Never send for a disabled or deleted endpoint; set such a row right if one shows up."""
    kept, paused, cancelled = [], [], []
    for row in rows:
        endpoint = endpoints[row.endpoint_id]
        if endpoint.deleted_at is not None:
            cancelled.append(row.id)
        elif not endpoint.enabled:
            paused.append(row.id)
        else:
            kept.append(row)
    for ids, values in ((paused, {}), (cancelled, {"status": "cancelled"})):
        if ids:
            session.execute(
                update(Delivery)
                .where(col(Delivery.id).in_(ids))
                .values(next_attempt_at=None, lease_until=None, **values)
                .execution_options(synchronize_session=False)
            )
    return kept


def _endpoints(session: Session, rows: Sequence[Row[Any]]) -> dict[uuid.UUID, EndpointRow]:
    """What sending needs of the rows' endpoints: plain rows (a claim's few endpoints loaded
    as ORM objects cost a quarter of the claim)."""
    ids = list({row.endpoint_id for row in rows})
    return {e.id: e for e in session.connection().execute(_ENDPOINT_COLUMNS, {"ids": ids})}


def _lease_rows(
    session: Session, *, now: datetime, limit: int, lease_until: datetime
) -> tuple[list[Row[Any]], dict[uuid.UUID, EndpointRow], dict[uuid.UUID, Any]]:
    """The leased rows of endpoints still sending, their endpoints and their events."""
    if session.connection().dialect.name == "postgresql":
        found = (
            session.connection()
            .execute(_LEASE_AND_READ, {"now": now, "limit": limit, "until": lease_until})
            .all()
        )
        if not found:
            return [], {}, {}
        endpoints = _endpoints(session, found)
        rows = _unless_endpoint_stopped(session, found, endpoints)
        return rows, endpoints, {row.event_id: _LeasedEvent(row) for row in rows}
    found = session.execute(_LEASE, {"now": now, "limit": limit}).all()
    if not found:
        return [], {}, {}
    endpoints = _endpoints(session, found)
    rows = _unless_endpoint_stopped(session, found, endpoints)
    events = {
        e.id: e
        for e in session.execute(
            sa.select(*_EVENT_COLUMNS).where(col(Event.id).in_([r.event_id for r in rows]))
        )
    }
    session.execute(
        update(Delivery)
        .where(col(Delivery.id).in_([row.id for row in rows]))
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return rows, endpoints, events


def lease_due(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    server_key: bytes,
    base_url: str,
) -> list[Message]:
    """Lease up to ``limit`` due deliveries and build their messages; the caller commits."""
    lease_until = now + lease
    rows, endpoints, events = _lease_rows(session, now=now, limit=limit, lease_until=lease_until)
    signing = {e.id: _signing(e, server_key, now) for e in endpoints.values()}
    messages = []
    for row in rows:
        endpoint = endpoints[row.endpoint_id]
        secrets, unsendable = signing[row.endpoint_id]
        messages.append(
            Message(
                delivery_id=row.id,
                endpoint_id=row.endpoint_id,
                parcel_id=row.parcel_id,
                occurred_at=row.occurred_at,
                url=endpoint.url,
                msg_id=payloads.message_id(row.event_id),
                body=payloads.event_body(events[row.event_id], base_url=base_url),
                secrets=secrets,
                attempts=row.attempts,
                lease_until=lease_until,
                unsendable=unsendable,
            )
        )
    return messages
