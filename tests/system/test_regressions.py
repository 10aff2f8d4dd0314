"""Bugs the system tests found, pinned down in one process (fast, SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from adapters.base import Location, Scan, ScanStatus, TrackingQuery, TrackingResult
from adapters.sandbox import SandboxAdapter
from app.auto_incidents import job as detect
from app.carriers import states as carrier_states
from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import SCOPES, ensure_bootstrap_key, ensure_tenant, generate_secret
from app.db.engine import Database
from app.parcels.models import Parcel
from app.tracking.store import Evidence, Leased, store_results
from tests.factories import START
from tests.system.processes import wait_for

NUMBER = "SANDBOX-STALLED-RACE-0001"


def _context(db: Database, now: datetime) -> JobContext:
    return JobContext(
        db=db,
        carriers=CarrierHub({"sandbox": SandboxAdapter()}),
        settings=Settings(database_url=db.url, scheduler="off"),
        clock=lambda: now,
    )


def _registered_parcel(db: Database, registered_at: datetime) -> Parcel:
    with db.session() as session:
        tenant = ensure_tenant(session, slug="acme")
        parcel = Parcel(
            tenant_id=tenant.id,
            carrier="sandbox",
            tracking_number=NUMBER,
            order_id="SO-RACE-1",
            origin_country="CN",
            destination_country="DE",
            next_poll_at=registered_at,
            created_at=registered_at,
            updated_at=registered_at,
        )
        session.add(parcel)
        session.commit()
        return parcel


def test_a_poll_committed_after_the_carriers_first_recorded_success_is_judged(
    db: Database,
) -> None:
    """Soak finding: two pollers store their first pages at once. The one that started later
    committed first and created the carrier's row; its ``available_since`` was its own start
    time, so the parcels the other poller stored (stamped a moment earlier) looked unpolled
    since the carrier "came back", and stalled parcels waited hours for their incident."""
    polled_at = START
    parcel = _registered_parcel(db, polled_at - timedelta(days=20))
    later = polled_at + timedelta(seconds=1)
    with db.session() as session:  # the other poller's store: later clock, committed first
        carrier_states.record_success(session, carrier="sandbox", now=later)
        session.commit()
    quiet_since = polled_at - timedelta(days=14)
    result = TrackingResult.found(
        NUMBER,
        [Scan(ScanStatus.IN_TRANSIT, quiet_since, "Departed export hub", Location(country="CN"))],
    )
    claimed = Leased(parcel.id, TrackingQuery(number=NUMBER), polled_at + timedelta(minutes=5))
    evidence = Evidence()
    evidence.saw([result])  # the poll saw the carrier answer, as it does before storing
    store_results(_context(db, polled_at), "sandbox", [claimed], [result], evidence)

    counts = detect.run_sync(_context(db, polled_at + timedelta(minutes=1)))

    assert counts["opened"] == 1, counts
    assert "waiting_for_poll" not in counts


def _bootstrap(db: Database, secret: str) -> None:
    with db.session() as session:
        ensure_bootstrap_key(session, secret)
        session.commit()


def _someone_waits_for_a_lock(db: Database) -> bool:
    with db.engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


@pytest.mark.postgres_only
def test_replicas_bootstrapping_the_same_key_at_once_all_start(db: Database) -> None:
    """Soak finding: two replicas started together with ``RT_BOOTSTRAP_API_KEY`` on a new
    database; the second one's INSERT of tenant ``default`` failed and it exited at start-up."""
    secret = generate_secret()
    with db.session() as first, ThreadPoolExecutor(max_workers=1) as pool:
        ensure_bootstrap_key(first, secret)  # the first replica's rows, not committed yet
        second = pool.submit(_bootstrap, db, secret)
        wait_for(lambda: _someone_waits_for_a_lock(db), timeout=30, what="the second replica")
        first.commit()
        second.result(timeout=30)

    with db.engine.connect() as conn:
        tenants = conn.execute(text("SELECT count(*) FROM tenants WHERE slug = 'default'"))
        count = tenants.scalar_one()
        keys = conn.execute(text("SELECT scopes FROM api_keys")).scalars().all()
    assert count == 1
    assert [set(scopes.split()) for scopes in keys] == [set(SCOPES)]
