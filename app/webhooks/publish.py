"""The outbox fan-out: one delivery row per matching endpoint, in the event's own transaction.

``install`` subscribes ``fan_out`` to the outbox (``app.outbox.events``) at start-up, so every
domain event's deliveries are added in the event's own transaction and commit together or not
at all: a crash can never leave an event nobody will deliver. Events without
a tenant (a carrier outage) go to every tenant's endpoints that subscribe to them.

Endpoints are read once per transaction and tenant (a detection tick emits thousands of
events); functions that change endpoints call ``forget_routes`` so the same transaction never
routes with a stale list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Uuid, bindparam, tuple_
from sqlalchemy import event as orm_events
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, func, select, update

from app.db.row_insert import RowInsert, postgresql_dialect
from app.db.tx_cache import forget, per_transaction
from app.outbox.events import NeedsSession, Write, subscribe
from app.outbox.models import Event
from app.webhooks.models import IS_PENDING, WebhookDelivery, WebhookEndpoint
from app.webhooks.wake import CHANNEL, wake_dispatcher_on_commit

ALL_TYPES = "*"
TARGETED_TYPES = frozenset({"webhook.test"})
"""Types delivered only to the endpoint they name, never fanned out."""

_CACHE_KEY = "webhook_routes"


@dataclass(frozen=True, slots=True)
class Route:
    endpoint_id: uuid.UUID
    tenant_id: uuid.UUID
    event_types: frozenset[str]

    def accepts(self, event_type: str) -> bool:
        return ALL_TYPES in self.event_types or event_type in self.event_types


def forget_routes(session: Session) -> None:
    forget(session, _CACHE_KEY)


def _routes(session: Session, tenant_id: uuid.UUID | None) -> list[Route]:
    by_tenant: dict[uuid.UUID | None, list[Route]] = per_transaction(session, _CACHE_KEY)
    if tenant_id not in by_tenant:
        query = select(WebhookEndpoint).where(
            col(WebhookEndpoint.enabled).is_(True), col(WebhookEndpoint.deleted_at).is_(None)
        )
        if tenant_id is not None:
            query = query.where(WebhookEndpoint.tenant_id == tenant_id)
        by_tenant[tenant_id] = [
            Route(e.id, e.tenant_id, frozenset(e.event_types.split()))
            for e in session.exec(query.order_by(col(WebhookEndpoint.created_at)))
        ]
    return by_tenant[tenant_id]


def delivery_for(event: Event, *, endpoint_id: uuid.UUID, tenant_id: uuid.UUID) -> WebhookDelivery:
    return WebhookDelivery(
        tenant_id=tenant_id,
        endpoint_id=endpoint_id,
        event_id=event.id,
        event_type=event.type,
        parcel_id=event.parcel_id,
        occurred_at=event.occurred_at,
        next_attempt_at=event.occurred_at,
        created_at=event.occurred_at,
    )


def fan_out(session: Session, event: Event) -> int:
    """Add a pending delivery of ``event`` for every enabled endpoint that wants it."""
    if event.type in TARGETED_TYPES:
        return 0
    matching = [route for route in _routes(session, event.tenant_id) if route.accepts(event.type)]
    for route in matching:
        session.add(delivery_for(event, endpoint_id=route.endpoint_id, tenant_id=route.tenant_id))
    if matching:
        wake_dispatcher_on_commit(session)
    return len(matching)


class _OnConnection:
    """``fan_out`` and ``_queue_behind_pending`` on a plain connection, for one event (a writer
    without the ORM, ``app.incidents.opening``): the statements compiled once."""

    def __init__(self) -> None:
        dialect = postgresql_dialect()
        endpoints = WebhookEndpoint.__table__  # type: ignore[attr-defined]
        deliveries = WebhookDelivery.__table__  # type: ignore[attr-defined]
        self.routes_sql = str(
            select(endpoints.c.id, endpoints.c.tenant_id, endpoints.c.event_types)
            .where(endpoints.c.enabled.is_(True), endpoints.c.deleted_at.is_(None))
            .where(endpoints.c.tenant_id == bindparam("tenant_id"))
            .order_by(endpoints.c.created_at)
            .compile(dialect=dialect)
        )
        self.latest_sql = str(
            select(deliveries.c.endpoint_id, func.max(deliveries.c.next_attempt_at))
            .where(IS_PENDING)
            .where(deliveries.c.parcel_id == bindparam("parcel_id"))
            .where(
                deliveries.c.endpoint_id == func.any(bindparam("endpoint_ids", type_=ARRAY(Uuid())))
            )
            .group_by(deliveries.c.endpoint_id)
            .compile(dialect=dialect)
        )
        self.insert = RowInsert(WebhookDelivery, dialect)

    async def __call__(
        self, connection: psycopg.AsyncConnection[Any], event: Event
    ) -> Write | None:
        """Read the routes and the deliveries waiting ahead; answer with the new deliveries'
        INSERT and the dispatcher's wake-up, or None when no endpoint wants the event."""
        if event.type in TARGETED_TYPES:
            return None
        if event.tenant_id is None:  # every tenant's endpoints: rare, and the session's way
            raise NeedsSession("an event without a tenant")
        cursor = await connection.execute(self.routes_sql, {"tenant_id": event.tenant_id})
        routes = [Route(e, t, frozenset(types.split())) for e, t, types in await cursor.fetchall()]
        matching = [route for route in routes if route.accepts(event.type)]
        if not matching:
            return None
        new = [
            delivery_for(event, endpoint_id=r.endpoint_id, tenant_id=r.tenant_id) for r in matching
        ]
        if event.parcel_id is not None and event.occurred_at is not None:
            cursor = await connection.execute(
                self.latest_sql,
                {"parcel_id": event.parcel_id, "endpoint_ids": [r.endpoint_id for r in matching]},
            )
            latest = {e: at for e, at in await cursor.fetchall() if at is not None}
            for delivery in new:
                _queue_behind(delivery, latest.get(delivery.endpoint_id))
        rows = [self.insert.params(d.__dict__) for d in new]

        async def write(connection: psycopg.AsyncConnection[Any]) -> None:
            async with connection.cursor() as many:
                await many.executemany(self.insert.sql, rows)
            await connection.execute(f"NOTIFY {CHANNEL}")

        return write


def install() -> None:
    """Subscribe the fan-out to the outbox and order new deliveries behind pending ones.

    Called once per process at start-up (``app.startup.wire``); calling it again is harmless.
    """
    subscribe(fan_out, on_connection=_OnConnection())
    if not orm_events.contains(Session, "before_flush", _queue_behind_pending):
        orm_events.listen(Session, "before_flush", _queue_behind_pending)


def _queue_behind_pending(session: Session, _context: object, _instances: object) -> None:
    """A parcel's new delivery is never due before the pending ones ahead of it.

    They go first anyway (see ``dispatch.leases``); scheduling the new one no earlier keeps
    the dispatcher's lease query from wading through deliveries that must wait (an endpoint that is
    down collects them by the thousand). Once per flush, for every new delivery at once.
    """
    new = [
        obj
        for obj in session.new
        if isinstance(obj, WebhookDelivery) and obj.parcel_id is not None and obj.next_attempt_at
    ]
    if not new:
        return
    pairs = sorted({(d.endpoint_id, d.parcel_id) for d in new})
    latest: dict[tuple[uuid.UUID, uuid.UUID | None], datetime] = {}
    with session.no_autoflush:
        for start in range(0, len(pairs), 500):
            rows = session.exec(
                select(
                    WebhookDelivery.endpoint_id,
                    WebhookDelivery.parcel_id,
                    func.max(WebhookDelivery.next_attempt_at),
                )
                .where(IS_PENDING)
                .where(
                    tuple_(col(WebhookDelivery.endpoint_id), col(WebhookDelivery.parcel_id)).in_(
                        pairs[start : start + 500]
                    )
                )
                .group_by(col(WebhookDelivery.endpoint_id), col(WebhookDelivery.parcel_id))
            )
            latest.update({(e, p): at for e, p, at in rows if at is not None})
    for delivery in new:
        _queue_behind(delivery, latest.get((delivery.endpoint_id, delivery.parcel_id)))


def _queue_behind(delivery: WebhookDelivery, ahead: datetime | None) -> None:
    """``delivery`` due no earlier than ``ahead``, the latest pending one of its parcel."""
    due = delivery.next_attempt_at
    if ahead is not None and due is not None and ahead > due:
        delivery.next_attempt_at = ahead.astimezone(UTC)


def pause(session: Session, endpoint_id: uuid.UUID) -> None:
    """A disabled endpoint's pending deliveries wait, unscheduled, until it is enabled again."""
    session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.endpoint_id) == endpoint_id)
        .where(IS_PENDING)
        .values(next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


def resume(session: Session, endpoint_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.endpoint_id) == endpoint_id)
        .where(IS_PENDING)
        .where(col(WebhookDelivery.next_attempt_at).is_(None))
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    wake_dispatcher_on_commit(session)
