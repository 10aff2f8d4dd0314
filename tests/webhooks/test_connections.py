"""Kept-alive connections: the scheduler's dispatcher reuses its connection to a receiver from
one pass to the next, and a pass sending many messages opens no more than it needs."""

from __future__ import annotations

import anyio

from app.core.settings import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.webhooks.dispatch.job import resident
from tests.factories import ApiClient
from tests.webhooks.conftest import job_context
from tests.webhooks.helpers import deliveries, emit_event, make_parcels, subscribe, tenant_id
from tests.webhooks.receiver import Receiver


def test_the_schedulers_dispatcher_keeps_its_connection_from_one_pass_to_the_next(
    api: ApiClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    subscribe(api, receiver.url())
    tenant = tenant_id(db)
    parcels = make_parcels(db, tenant, 3, utcnow())
    ctx = job_context(db, settings, utcnow)

    async def three_passes() -> list[int]:
        delivered = []
        async with resident(ctx) as tick:
            for parcel in parcels:
                emit_event(
                    db, tenant=tenant, type="parcel.status_changed", at=utcnow(), parcel_id=parcel
                )
                delivered.append((await tick(ctx))["delivered"])
        return delivered

    assert anyio.run(three_passes) == [1, 1, 1]
    assert len(receiver.requests) == 3
    assert receiver.connections == 1
    assert {row.status for row in deliveries(db)} == {"delivered"}


def test_one_after_another_the_messages_of_a_pass_share_one_connection(
    api: ApiClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    """With one message in flight at a time, the idle connection is reused, never a new one."""
    subscribe(api, receiver.url())
    tenant = tenant_id(db)
    for parcel in make_parcels(db, tenant, 5, utcnow()):
        emit_event(db, tenant=tenant, type="parcel.status_changed", at=utcnow(), parcel_id=parcel)
    ctx = job_context(db, settings.model_copy(update={"webhook_concurrency": 1}), utcnow)

    async def one_pass() -> int:
        async with resident(ctx) as tick:
            return (await tick(ctx))["delivered"]

    assert anyio.run(one_pass) == 5
    assert receiver.connections == 1
