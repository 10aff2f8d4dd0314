"""Detect-stuck on PostgreSQL: 100,000 and 1,000,000 active parcels, 1% of them stuck.

Two figures per size: the tick that opens an incident for every stuck parcel, and the next
tick, with nothing new to open. Targets (issue 20): ≤ 5 s for a million parcels with 10,000
to open, ≤ 1 s when there is nothing new. Parcels are generated in the database itself
(``generate_series``), so set-up does not dominate the run. The outbox's subscribers are wired
as in the scheduler process, so each event's fan-out is part of the figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from adapters.sandbox import SandboxAdapter
from app.auto_incidents import job as detect
from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.startup import settle, wire
from bench.figures import Figure
from bench.pg import throwaway_database

NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)  # a Thursday, no holiday in CN or US
STUCK_SHARE = 100  # one parcel in a hundred is stuck
OPENING_TARGET_SECONDS = 5.0  # a million parcels, 10,000 of them to open (issue 20)

_INSERT = text(
    """
    INSERT INTO parcels (id, tenant_id, carrier, tracking_number, order_id, origin_country,
        destination_country, status, last_scan_at, last_scan_status, last_scan_description,
        last_scan_country, last_polled_at, stuck_check_at, created_at, updated_at)
    SELECT gen_random_uuid(), :tenant, 'sandbox', 'SANDBOX-STALLED-' || i, 'SO-' || i, 'CN',
        'US', 'in_transit',
        CASE WHEN i % :share = 0 THEN :quiet_since ELSE :recent END,
        'in_transit', 'Departed facility', 'US', :polled,
        CASE WHEN i % :share = 0 THEN :due ELSE :later END,
        :created, :created
    FROM generate_series(1, :count) AS i
    """
)
_RESET = (
    "DELETE FROM timeline_entries",
    "DELETE FROM events",
    "DELETE FROM incidents",
    "UPDATE tenants SET incident_seq = 0",
)


def _fill(db: Database, count: int) -> None:
    with db.session() as session:
        tenant = ensure_tenant(session, slug="bench")
        session.commit()
        session.execute(
            _INSERT,
            {
                "tenant": tenant.id,
                "share": STUCK_SHARE,
                "count": count,
                "quiet_since": NOW - timedelta(days=14),
                "recent": NOW - timedelta(hours=3),
                "polled": NOW - timedelta(minutes=10),
                "due": NOW - timedelta(minutes=1),
                "later": NOW + timedelta(days=3),
                "created": NOW - timedelta(days=16),
            },
        )
        session.commit()
        session.execute(text("ANALYZE parcels"))
        session.commit()


def _reset(db: Database) -> None:
    """Back to 'nothing opened yet' for the next sample."""
    with db.session() as session:
        for statement in _RESET:
            session.execute(text(statement))
        session.execute(
            text("UPDATE parcels SET stuck_check_at = :due WHERE last_scan_at < :cut"),
            {"due": NOW - timedelta(minutes=1), "cut": NOW - timedelta(days=7)},
        )
        session.commit()


def _timed(tick: Callable[[], dict[str, int]]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    counts = tick()
    return time.perf_counter() - started, counts


def _measure(size: int, runs: int) -> list[Figure]:
    wire()  # as the scheduler process does: events go to the webhook fan-out and notices
    settle()  # and as it does once it is built
    opening: list[float] = []
    idle: list[float] = []
    with throwaway_database("detect") as db:
        _fill(db, size)
        ctx = JobContext(
            db=db,
            carriers=CarrierHub({"sandbox": SandboxAdapter(clock=lambda: NOW)}),
            settings=Settings(database_url=db.url, scheduler="off", tick_budget_seconds=600),
            clock=lambda: NOW,
        )
        expected = size // STUCK_SHARE
        for run in range(runs):
            if run:
                _reset(db)
            seconds, counts = _timed(lambda: detect.run_sync(ctx))
            if counts.get("opened") != expected:
                raise RuntimeError(f"expected {expected} incidents, the tick said {counts}")
            opening.append(seconds)
            seconds, counts = _timed(lambda: detect.run_sync(ctx))
            if counts.get("opened"):
                raise RuntimeError(f"the idle tick opened incidents: {counts}")
            idle.append(seconds)
    big = size >= 1_000_000
    return [
        Figure(
            f"detect-stuck tick, {size:,} parcels, {expected:,} to open",
            "s",
            tuple(opening),
            target=f"≤ {OPENING_TARGET_SECONDS:g} s" if big else None,
            met=max(opening) <= OPENING_TARGET_SECONDS if big else None,
        ),
        Figure(
            f"detect-stuck tick, {size:,} parcels, nothing new",
            "s",
            tuple(idle),
            target="≤ 1 s",
            met=max(idle) <= 1,
        ),
    ]


def run(quick: bool) -> list[Figure]:
    sizes = (10_000,) if quick else (100_000, 1_000_000)
    figures: list[Figure] = []
    for size in sizes:
        figures.extend(_measure(size, runs=1 if quick else 3))
    return figures
