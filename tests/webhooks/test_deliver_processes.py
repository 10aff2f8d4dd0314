"""Dispatchers as real processes: one killed mid-batch and restarted, two at once on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from typing import Any

import pytest
from sqlmodel import col, func, select

from app.core.settings import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.webhooks.models import WebhookAttempt
from tests.factories import ApiClient
from tests.webhooks.conftest import deliver_now
from tests.webhooks.helpers import deliveries, emit_event, make_parcels, subscribe, tenant_id
from tests.webhooks.receiver import Receiver, Reply

SPAWN = multiprocessing.get_context("spawn")


def _dispatch_until_idle(url: str, overrides: dict[str, Any], barrier: Any) -> None:
    """A dispatcher process: ticks until a tick finds nothing to do."""
    database = Database(url)
    settings = Settings(database_url=url, **overrides)
    if barrier is not None:
        barrier.wait()
    idle = 0
    while idle < 3:
        counts = deliver_now(database, settings, utcnow)
        idle = idle + 1 if not counts["claimed"] else 0
        time.sleep(0.05)
    database.dispose()


def _overrides(settings: Settings, **more: Any) -> dict[str, Any]:
    keep = (
        "secret_key",
        "webhook_allow_http",
        "webhook_allow_private_networks",
        "webhook_retry_schedule",
        "webhook_timeout_seconds",
        "webhook_api_base_url",
    )
    return {**{name: getattr(settings, name) for name in keep}, **more}


def _emit_many(db: Database, count: int) -> None:
    tenant = tenant_id(db)
    parcels = make_parcels(db, tenant, count // 2, utcnow())
    for i in range(count):
        emit_event(
            db,
            tenant=tenant,
            type="parcel.status_changed",
            at=utcnow(),
            parcel_id=parcels[i % len(parcels)],
        )


def test_a_dispatcher_killed_mid_batch_loses_nothing(
    api: ApiClient, db: Database, database_url: str, settings: Settings
) -> None:
    events = 300
    with Receiver(lambda _: Reply(200, delay=0.02)) as receiver:
        subscribe(api, receiver.url("/a"))
        subscribe(api, receiver.url("/b"))
        _emit_many(db, events)
        overrides = _overrides(settings, webhook_lease_seconds=2)
        doomed = SPAWN.Process(target=_dispatch_until_idle, args=(database_url, overrides, None))
        doomed.start()
        deadline = time.monotonic() + 60
        while len(receiver.requests) < events // 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert doomed.pid is not None
        os.kill(doomed.pid, signal.SIGKILL)  # mid-batch: sent, not yet recorded
        doomed.join(timeout=10)
        received_before_restart = len(receiver.requests)
        assert 0 < received_before_restart < 2 * events

        time.sleep(2.1)  # the dead dispatcher's leases run out
        restarted = SPAWN.Process(target=_dispatch_until_idle, args=(database_url, overrides, None))
        restarted.start()
        restarted.join(timeout=120)
        assert restarted.exitcode == 0

    rows = deliveries(db)
    assert len(rows) == 2 * events
    assert {row.status for row in rows} == {"delivered"}
    assert all(row.lease_until is None for row in rows)
    per_pair = Counter((r.path, r.webhook_id) for r in receiver.requests)
    assert len(per_pair) == 2 * events  # nothing lost
    duplicates = sum(count - 1 for count in per_pair.values())
    # at most what was in flight, finished but waiting for its record, and being recorded
    assert duplicates <= 3 * settings.webhook_concurrency


@pytest.mark.postgres_only
def test_two_dispatchers_at_once_never_send_the_same_attempt(
    api: ApiClient, db: Database, database_url: str, settings: Settings
) -> None:
    events = 500
    with Receiver() as receiver:
        subscribe(api, receiver.url("/a"))
        subscribe(api, receiver.url("/b"))
        _emit_many(db, events)
        overrides = _overrides(settings, webhook_lease_seconds=60, webhook_claim_size=20)
        barrier = SPAWN.Barrier(2)
        workers = [
            SPAWN.Process(target=_dispatch_until_idle, args=(database_url, overrides, barrier))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
            assert worker.exitcode == 0

    per_pair = Counter((r.path, r.webhook_id) for r in receiver.requests)
    assert len(per_pair) == 2 * events
    assert max(per_pair.values()) == 1
    with db.session() as session:
        attempted_twice = session.exec(
            select(WebhookAttempt.delivery_id)
            .group_by(col(WebhookAttempt.delivery_id))
            .having(func.count() > 1)
        ).all()
        total = session.exec(select(func.count()).select_from(WebhookAttempt)).one()
    assert attempted_twice == []
    assert total == 2 * events
    assert {row.status for row in deliveries(db)} == {"delivered"}
