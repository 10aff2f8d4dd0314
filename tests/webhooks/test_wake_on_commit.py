"""Wake on commit, end to end: the service's scheduler sends a committed event at once, not at
the next tick; its listener comes back after the database drops it; without it (SQLite, or
switched off) the interval tick still delivers.

The dispatcher's fallback tick is set to an hour in the wake-up tests, so a delivery that
arrives proves that the commit woke it (no timing is asserted).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text

from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.scheduler.runner import Scheduler, build_scheduler
from app.scheduler.wake import APPLICATION_NAME
from tests.factories import ApiClient
from tests.webhooks.conftest import FAST_SCHEDULE
from tests.webhooks.helpers import deliveries, emit_event, make_parcels, subscribe, tenant_id
from tests.webhooks.receiver import Receiver

DISPATCHER = "deliver-webhooks"
AN_HOUR = 3600
WAIT = 30.0  # seconds a test waits for something that should take milliseconds


def _settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "auto_migrate": False,
        "secret_key": "test-secret-key-for-page-tokens-0123456789",
        "scheduler": "embedded",
        "webhook_allow_http": True,
        "webhook_allow_private_networks": True,
        "webhook_retry_schedule": FAST_SCHEDULE,
        "webhook_timeout_seconds": 2.0,
        "webhook_dispatch_interval_seconds": AN_HOUR,
        # the other jobs: not before the test is over
        "poll_interval_seconds": AN_HOUR,
        "detect_interval_seconds": AN_HOUR,
        "overdue_interval_seconds": AN_HOUR,
        "message_dispatch_interval_seconds": AN_HOUR,
    }
    return Settings(**{**values, **overrides})


@contextmanager
def running(db: Database, settings: Settings) -> Iterator[Scheduler]:
    """The service's scheduler on an event loop of its own, as the scheduler process runs it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    ctx = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=utcnow)

    async def start() -> Scheduler:
        scheduler = build_scheduler(ctx)
        scheduler.start()
        return scheduler

    scheduler = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield scheduler
    finally:
        asyncio.run_coroutine_threadsafe(scheduler.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {WAIT:g} s: {what}"
        time.sleep(0.01)


def settled(scheduler: Scheduler, passes: int = 1) -> int:
    """Wait until the dispatcher has finished ``passes`` passes and is idle; how many it ran."""
    loop = scheduler.loops[DISPATCHER]
    until(lambda: loop.passes >= passes and not loop.running, "the dispatcher to go idle")
    return loop.passes


def listening(scheduler: Scheduler, connections: int = 1) -> None:
    listener = scheduler.listener
    assert listener is not None
    until(
        lambda: listener.connections >= connections and listener.listening.is_set(),
        f"the listener's connection number {connections}",
    )


@pytest.mark.postgres_only
def test_a_committed_event_is_sent_at_once_not_at_the_next_tick(
    api: ApiClient, db: Database, database_url: str, receiver: Receiver
) -> None:
    subscribe(api, receiver.url())
    tenant = tenant_id(db)
    [parcel] = make_parcels(db, tenant, 1, utcnow())
    with running(db, _settings(database_url)) as scheduler:
        listening(scheduler)
        before = settled(scheduler)  # the pass every scheduler runs when it starts

        emit_event(db, tenant=tenant, type="parcel.status_changed", at=utcnow(), parcel_id=parcel)

        until(lambda: len(receiver.requests) == 1, "the event to reach the receiver")
        assert settled(scheduler, before + 1) > before  # woken: the tick is an hour away
    [delivery] = deliveries(db)
    assert delivery.status == "delivered"


@pytest.mark.postgres_only
def test_the_listener_comes_back_after_the_database_drops_it(
    api: ApiClient, db: Database, database_url: str, receiver: Receiver
) -> None:
    subscribe(api, receiver.url())
    tenant = tenant_id(db)
    parcels = make_parcels(db, tenant, 2, utcnow())
    with running(db, _settings(database_url)) as scheduler:
        listening(scheduler)
        settled(scheduler)
        with db.engine.begin() as connection:
            dropped = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            ).all()
        assert dropped == [(True,)]

        listening(scheduler, connections=2)
        before = settled(scheduler)
        for parcel in parcels:
            emit_event(
                db, tenant=tenant, type="parcel.status_changed", at=utcnow(), parcel_id=parcel
            )

        until(lambda: len(receiver.requests) == 2, "both events to reach the receiver")
        assert settled(scheduler, before + 1) > before
    assert {row.status for row in deliveries(db)} == {"delivered"}


def test_without_notifications_the_interval_tick_still_delivers(
    api: ApiClient, db: Database, database_url: str, receiver: Receiver
) -> None:
    """SQLite has no LISTEN; on PostgreSQL the wake-up is switched off here."""
    subscribe(api, receiver.url())
    tenant = tenant_id(db)
    [parcel] = make_parcels(db, tenant, 1, utcnow())
    settings = _settings(
        database_url, webhook_dispatch_interval_seconds=1, webhook_wake_on_commit=False
    )
    with running(db, settings) as scheduler:
        assert scheduler.listener is None
        settled(scheduler)

        emit_event(db, tenant=tenant, type="parcel.status_changed", at=utcnow(), parcel_id=parcel)

        until(
            lambda: [row.status for row in deliveries(db)] == ["delivered"],
            "the tick to send the event",
        )
    assert len(receiver.requests) == 1
