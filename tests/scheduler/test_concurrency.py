"""Several scheduler processes at the same instant on one PostgreSQL: nothing doubled.

Four real processes run the detect-stuck tick over 1,000 stuck parcels at once. With the
advisory lock (the optimisation) and without it (claims and the partial unique index alone),
the result is exactly 1,000 incidents and 1,000 ``incident.opened`` events.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlmodel import col, func, select

from app.auto_incidents import job as detect
from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents.models import Incident
from app.outbox.models import Event
from app.parcels.models import Parcel
from app.startup import wire
from tests.factories import START

PARCELS = 1_000
PROCESSES = 4


def _detect_in_process(url: str, now_iso: str, barrier: Any, use_lock: bool, out: Any) -> None:
    wire()  # a fresh process, started as the scheduler's would be
    database = Database(url)
    now = datetime.fromisoformat(now_iso)
    ctx = JobContext(
        db=database,
        carriers=CarrierHub({}),
        settings=Settings(database_url=url, scheduler="off"),
        clock=lambda: now,
        use_tick_lock=use_lock,
    )
    barrier.wait()
    counts: Counter[str] = Counter()
    # keep ticking until nothing is left, as the interval trigger would
    for _ in range(20):
        tick = detect.run_sync(ctx)
        counts.update(tick)
        if not tick.get("checked") and not tick.get("skipped_busy"):
            break
    database.dispose()
    out.put(dict(counts))


def _stuck_parcels(db: Database, now: datetime) -> None:
    quiet_since = now - timedelta(days=14)
    with db.session() as session:
        tenant = ensure_tenant(session, slug="acme")
        session.execute(
            insert(Parcel),
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant.id,
                    "carrier": "sandbox",
                    "tracking_number": f"SANDBOX-STALLED-{i:05d}",
                    "order_id": f"SO-{i}",
                    "origin_country": "CN",
                    "destination_country": "US",
                    "status": "in_transit",
                    "last_scan_at": quiet_since,
                    "last_scan_status": "in_transit",
                    "last_scan_description": "Departed facility",
                    "last_scan_country": "US",
                    "stuck_check_at": now - timedelta(minutes=1),
                    "created_at": quiet_since - timedelta(days=2),
                    "updated_at": quiet_since,
                }
                for i in range(PARCELS)
            ],
        )
        session.commit()


@pytest.mark.postgres_only
@pytest.mark.parametrize("use_lock", [True, False], ids=["advisory-lock", "claims-only"])
def test_four_processes_open_each_incident_exactly_once(
    db: Database, database_url: str, use_lock: bool
) -> None:
    now = START + timedelta(days=30)
    _stuck_parcels(db, now)
    spawn = multiprocessing.get_context("spawn")
    barrier, out = spawn.Barrier(PROCESSES), spawn.Queue()
    workers = [
        spawn.Process(
            target=_detect_in_process, args=(database_url, now.isoformat(), barrier, use_lock, out)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    with db.session() as session:
        incidents = session.exec(select(func.count()).select_from(Incident)).one()
        opened = session.exec(
            select(func.count()).select_from(Event).where(col(Event.type) == "incident.opened")
        ).one()
        per_parcel = session.exec(
            select(Incident.parcel_id, func.count()).group_by(col(Incident.parcel_id))
        ).all()
    assert incidents == PARCELS
    assert opened == PARCELS
    assert all(count == 1 for _, count in per_parcel)
    assert sum(r.get("opened", 0) for r in results) == PARCELS
