"""Polling 1,000 parcels when 1, 10 or 100 of their numbers always fail (issue: detection you
can trust). For UPS (one number a call) and FedEx (30 a call, failed calls split to find the
bad number): carrier calls made, parcels polled, and the incidents the next detect-stuck tick
opens for the good parcels (all of them stalled), against PostgreSQL and a fake carrier on
127.0.0.1. Before, one bad number failed its whole batch and reported the carrier down.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from adapters.base import CarrierAdapter
from app.auto_incidents import job as detect
from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.startup import wire
from app.tracking import job as poll
from bench.figures import Figure
from bench.load import uvicorn_server
from bench.pg import throwaway_database
from bench.poll import _fedex, _ups

PARCELS = 1_000
POISONED = (1, 10, 100)
_INSERT = text(
    """
    INSERT INTO parcels (id, tenant_id, carrier, tracking_number, order_id, origin_country,
        destination_country, status, next_poll_at, created_at, updated_at, poll_errors,
        failed_attempts)
    SELECT gen_random_uuid(), :tenant, :carrier, :prefix || lpad(i::text, 8, '0'), 'SO-' || i,
        'CN', 'US', 'in_transit', :due, :created, :created, 0, 0
    FROM generate_series(1, :count) AS i
    """
)


def _fill(db: Database, carrier: str, poisoned: int) -> None:
    now = datetime.now(UTC)
    prefix = "1ZBENCH" if carrier == "ups" else "1000"
    with db.session() as session:
        tenant = ensure_tenant(session, slug="bench")
        session.commit()
        for table in ("timeline_entries", "webhook_deliveries", "events", "incidents", "scans"):
            session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our table names
        session.execute(text("DELETE FROM parcels"))
        session.execute(text("DELETE FROM carrier_states"))
        for count, number_prefix in ((PARCELS - poisoned, prefix), (poisoned, "9999")):
            session.execute(
                _INSERT,
                {
                    "tenant": tenant.id,
                    "carrier": carrier,
                    "prefix": number_prefix,
                    "count": count,
                    "due": now - timedelta(minutes=1),
                    "created": now - timedelta(days=20),
                },
            )
        session.commit()


def _context(db: Database, adapter: CarrierAdapter) -> JobContext:
    return JobContext(
        db=db,
        carriers=CarrierHub({adapter.code: adapter}),
        settings=Settings(database_url=db.url, scheduler="off", tick_budget_seconds=600),
        clock=lambda: datetime.now(UTC),
    )


async def _poll_then_detect(db: Database, adapter: CarrierAdapter) -> dict[str, int]:
    ctx = _context(db, adapter)
    try:
        counts = await poll.run(ctx)
    finally:
        await adapter.aclose()
    detected = detect.run_sync(ctx)
    return {**counts, "opened": detected.get("opened", 0)}


def run(quick: bool) -> list[Figure]:
    wire()
    figures: list[Figure] = []
    scenarios = {"": "stalled", "9999": "broken"}
    env = {"RT_FAKE_CARRIER_LATENCY": "0.02", "RT_FAKE_CARRIER_SCENARIOS": json.dumps(scenarios)}
    builds: tuple[tuple[str, Callable[[str], CarrierAdapter]], ...] = (
        ("ups", _ups),
        ("fedex", _fedex),
    )
    with (
        throwaway_database("poison") as db,
        uvicorn_server("bench.fake_carrier:create_app", env) as fake,
    ):
        for carrier, build in builds:
            for poisoned in POISONED[:1] if quick else POISONED:
                _fill(db, carrier, poisoned)
                counts = asyncio.run(_poll_then_detect(db, build(fake.url)))
                good = PARCELS - poisoned
                label = f"poll {PARCELS:,} {carrier}, {poisoned} poisoned"
                figures += [
                    Figure(f"{label}: carrier calls", "calls", (counts.get("calls", 0),)),
                    Figure(
                        f"{label}: parcels polled (answered)",
                        "parcels",
                        (counts.get("parcels_found", 0),),
                        target=f"= {good}",
                        met=counts.get("parcels_found", 0) == good,
                    ),
                    Figure(
                        f"{label}: incidents opened",
                        "incidents",
                        (counts["opened"],),
                        target=f"= {good}, no outage",
                        met=counts["opened"] == good and not counts.get("carrier_unavailable"),
                    ),
                ]
    return figures
