"""Polling 10,000 parcels from a fake carrier on 127.0.0.1 that answers after 200 ms.

The bound a carrier sets is calls x latency / concurrency: UPS takes one number a call, so
10,000 x 0.2 s / 64 ~ 31 s at 64 calls in flight; FedEx takes 30 numbers a call, so
334 x 0.2 s / 4 ~ 17 s at its 4 calls in flight. Target (issues 8 and 20): within 1.25x the
bound. The poll job runs as the scheduler runs it (claims, leases, storing every scan) against
PostgreSQL on this machine, and the fake carrier shares the machine's cores with it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from adapters.base import CarrierAdapter
from adapters.fedex import FedexAdapter, FedexSettings
from adapters.ups import UpsAdapter, UpsSettings
from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.startup import settle
from app.tracking import job as poll
from bench.figures import Figure
from bench.load import uvicorn_server
from bench.pg import throwaway_database

LATENCY = 0.2
_INSERT = text(
    """
    INSERT INTO parcels (id, tenant_id, carrier, tracking_number, order_id, origin_country,
        destination_country, status, next_poll_at, created_at, updated_at)
    SELECT gen_random_uuid(), :tenant, :carrier, :prefix || lpad(i::text, 8, '0'), 'SO-' || i,
        'CN', 'US', 'in_transit', :due, :created, :created
    FROM generate_series(1, :count) AS i
    """
)


def _fill(db: Database, carrier: str, count: int) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        tenant = ensure_tenant(session, slug="bench")
        session.commit()
        session.execute(text("DELETE FROM scans"))
        session.execute(text("DELETE FROM parcels"))
        session.execute(
            _INSERT,
            {
                "tenant": tenant.id,
                "carrier": carrier,
                "prefix": "1ZBENCH" if carrier == "ups" else "9999",
                "count": count,
                "due": now - timedelta(minutes=1),
                "created": now - timedelta(days=2),
            },
        )
        session.commit()


def _ups(url: str) -> UpsAdapter:
    return UpsAdapter(
        UpsSettings(
            client_id="bench",
            client_secret="bench",  # noqa: S106 - the fake carrier takes any
            base_url=url,
            requests_per_second=0,
            max_concurrency=64,
        )
    )


def _fedex(url: str) -> FedexAdapter:
    return FedexAdapter(
        FedexSettings(
            client_id="bench",
            client_secret="bench",  # noqa: S106 - the fake carrier takes any
            base_url=url,
            requests_per_second=0,
            daily_quota=None,
        )
    )


async def _poll_all(db: Database, adapter: CarrierAdapter) -> dict[str, int]:
    ctx = JobContext(
        db=db,
        carriers=CarrierHub({adapter.code: adapter}),
        settings=Settings(database_url=db.url, scheduler="off", tick_budget_seconds=600),
        clock=lambda: datetime.now(UTC),
    )
    try:
        return await poll.run(ctx)
    finally:
        await adapter.aclose()


def _measure(
    db: Database, url: str, carrier: str, build: Callable[[str], CarrierAdapter], count: int
) -> tuple[float, float]:
    """(seconds taken, the carrier's bound) for polling ``count`` due parcels once."""
    _fill(db, carrier, count)
    adapter = build(url)
    caps = adapter.capabilities
    bound = math.ceil(count / caps.batch_size) * LATENCY / caps.max_concurrency
    started = time.perf_counter()
    counts = asyncio.run(_poll_all(db, adapter))
    seconds = time.perf_counter() - started
    if counts.get("parcels_found") != count:
        raise RuntimeError(f"{carrier}: expected {count} parcels found, the tick said {counts}")
    return seconds, bound


def run(quick: bool) -> list[Figure]:
    count, runs = (1_000, 1) if quick else (10_000, 3)
    figures: list[Figure] = []
    env = {"RT_FAKE_CARRIER_LATENCY": str(LATENCY)}
    # as the scheduler process does once it is built: unsettled, full collections walked this
    # process's start-up objects 13-15 times a poll, 120-160 ms each (1.5 s of a 35 s poll)
    settle()
    with (
        throwaway_database("poll") as db,
        uvicorn_server("bench.fake_carrier:create_app", env) as fake,
    ):
        for carrier, build in (("ups", _ups), ("fedex", _fedex)):
            samples = [_measure(db, fake.url, carrier, build, count) for _ in range(runs)]
            bound = samples[0][1]
            ratios = tuple(seconds / bound for seconds, _ in samples)
            figures.append(
                Figure(
                    f"poll {count:,} {carrier} parcels (bound {bound:.1f} s)",
                    "s",
                    tuple(seconds for seconds, _ in samples),
                )
            )
            figures.append(
                Figure(
                    f"poll {carrier}: time / bound",
                    "ratio",
                    ratios,
                    target="≤ 1.25",
                    met=max(ratios) <= 1.25,
                )
            )
    return figures
