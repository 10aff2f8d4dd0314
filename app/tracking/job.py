"""The poll job: fetch due parcels from their carriers and store what is new.

Each carrier runs its own loop (lease a page of its due parcels, fetch them in the carrier's
batch size under its concurrency limit, store), so one carrier's outage or slowness never
slows the others. A leased parcel carries a lease: another process skips it until the lease
expires, so a crashed poller delays a parcel by at most one lease, never loses it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import structlog
from sqlmodel import Session, col, or_, select

from adapters.base import (
    CarrierAdapter,
    CarrierError,
    CarrierRateLimited,
    TrackingQuery,
    TrackingResult,
)
from app.carriers import service as carriers
from app.carriers import states as carrier_states
from app.core import metrics
from app.core.jobs import JobContext
from app.parcels import service as parcels
from app.parcels.models import Parcel
from app.tracking import apply as tracking

log = structlog.get_logger("scheduler.poll")
# pages being stored while the next is fetched; their parcels differ, so they never contend
STORES_IN_FLIGHT = 2


@dataclass(frozen=True, slots=True)
class Leased:
    parcel_id: uuid.UUID
    query: TrackingQuery
    lease_until: datetime


def lease_due(ctx: JobContext, *, carrier: str) -> list[Leased]:
    """Lease up to ``poll_claim_size`` due parcels of ``carrier`` that nobody else holds."""
    now = ctx.clock()
    lease_until = now + timedelta(seconds=ctx.settings.poll_lease_seconds)
    with ctx.db.unit_of_work() as session:
        parcels = session.exec(
            select(Parcel)
            .where(
                col(Parcel.next_poll_at) <= now,
                col(Parcel.carrier) == carrier,
                or_(col(Parcel.poll_lease_until).is_(None), col(Parcel.poll_lease_until) < now),
            )
            .order_by(col(Parcel.next_poll_at))
            .limit(ctx.settings.poll_claim_size)
            .with_for_update(skip_locked=True)
        ).all()
        leased = []
        for parcel in parcels:
            parcel.poll_lease_until = lease_until
            session.add(parcel)
            leased.append(Leased(parcel.id, tracking.query_for(parcel), lease_until))
    return leased


def _locked(session: Session, leased: Sequence[Leased]) -> dict[uuid.UUID, Parcel]:
    rows = session.exec(
        select(Parcel)
        .where(col(Parcel.id).in_([c.parcel_id for c in leased]))
        .order_by(col(Parcel.id))
        .with_for_update()
    ).all()
    return {p.id: p for p in rows}


def store_results(
    ctx: JobContext, carrier: str, leased: Sequence[Leased], results: Sequence[TrackingResult]
) -> Counter[str]:
    counts: Counter[str] = Counter()
    now = ctx.clock()
    by_number = {r.tracking_number: r for r in results}
    with ctx.db.unit_of_work() as session, session.no_autoflush:
        # no flush per parcel: every parcel's changes go out together at commit
        parcels = _locked(session, leased)
        batch: list[tuple[Parcel, TrackingResult]] = []
        for item in leased:
            parcel = parcels.get(item.parcel_id)
            if parcel is None:  # deleted meanwhile
                continue
            result = by_number.get(item.query.number) or TrackingResult.failed(
                item.query.number, "the carrier's answer did not include this number"
            )
            parcel.poll_lease_until = None
            batch.append((parcel, result))
            counts[f"parcels_{result.outcome}"] += 1
        new_scans = tracking.apply_results(
            session, batch, now=now, max_age=ctx.settings.max_tracking_age
        )
        counts["scans_new"] += sum(len(ids) for ids in new_scans)
        if carrier_states.record_success(session, carrier=carrier, now=now):
            counts["carrier_recovered"] += 1
    return counts


def store_failure(
    ctx: JobContext, carrier: str, leased: Sequence[Leased], error: CarrierError
) -> Counter[str]:
    counts: Counter[str] = Counter({"parcels_failed": len(leased)})
    now = ctx.clock()
    retry_at = None
    if isinstance(error, CarrierRateLimited) and error.retry_after is not None:
        retry_at = now + timedelta(seconds=error.retry_after)
    with ctx.db.unit_of_work() as session:
        for parcel in _locked(session, leased).values():
            tracking.record_failure(session, parcel=parcel, error=error, now=now, retry_at=retry_at)
            parcel.poll_lease_until = None
        # being asked to slow down is not an outage; everything else means we cannot see
        if not isinstance(error, CarrierRateLimited) and carrier_states.record_outage(
            session,
            carrier=carrier,
            error=f"{type(error).__name__}: {error.message}"[:500],
            now=now,
        ):
            counts["carrier_unavailable"] += 1
    return counts


Fetched = tuple[list[Leased], list[TrackingResult] | CarrierError]


async def _fetch_chunk(adapter: CarrierAdapter, chunk: list[Leased]) -> Fetched:
    """One carrier call; a whole-call failure comes back as data for the store step."""
    try:
        return chunk, await metrics.timed_fetch(adapter, [c.query for c in chunk])
    except CarrierError as error:
        log.warning(
            "carrier call failed", carrier=adapter.code, error=str(error), parcels=len(chunk)
        )
        return chunk, error


def store_page(ctx: JobContext, carrier: str, fetched: Sequence[Fetched]) -> Counter[str]:
    """Store one leased page's answers: failed calls first, then every answer in one transaction."""
    counts: Counter[str] = Counter()
    answered: list[Leased] = []
    results: list[TrackingResult] = []
    for chunk, outcome in fetched:
        if isinstance(outcome, CarrierError):
            counts.update(store_failure(ctx, carrier, chunk, outcome))
        else:
            answered += chunk
            results += outcome
    if answered:  # the carrier answered, so it is available: recorded after any failure
        counts.update(store_results(ctx, carrier, answered, results))
    return counts


async def poll_carrier(ctx: JobContext, adapter: CarrierAdapter, deadline: float) -> Counter[str]:
    """Lease, fetch and store pages of the carrier's due parcels until none is left.

    Storing a page runs while the next page is leased and fetched, so the carrier's
    concurrency limit, not our database round trips, sets the pace.
    """
    counts: Counter[str] = Counter()
    size = max(1, adapter.capabilities.batch_size)
    slots = asyncio.Semaphore(max(1, adapter.capabilities.max_concurrency))

    async def bounded(chunk: list[Leased]) -> Fetched:
        async with slots:
            return await _fetch_chunk(adapter, chunk)

    storing: list[asyncio.Task[Counter[str]]] = []
    try:
        while ctx.monotonic() < deadline:
            leased = await anyio.to_thread.run_sync(lambda: lease_due(ctx, carrier=adapter.code))
            if not leased:
                break
            counts["claimed"] += len(leased)
            chunks = [leased[i : i + size] for i in range(0, len(leased), size)]
            fetched = await asyncio.gather(*(bounded(c) for c in chunks))
            counts["calls"] += len(chunks)
            if len(storing) >= STORES_IN_FLIGHT:
                counts.update(await storing.pop(0))
            storing.append(
                asyncio.create_task(
                    anyio.to_thread.run_sync(store_page, ctx, adapter.code, fetched)
                )
            )
            if all(isinstance(outcome, CarrierError) for _, outcome in fetched):
                break  # the carrier is failing: leave the rest for the next tick
    finally:
        for task in storing:
            counts.update(await task)
    return counts


def carriers_to_poll(ctx: JobContext) -> list[CarrierAdapter]:
    """The configured adapters to poll: never ``other`` (pushed scans only, no adapter) nor
    the bare ``17track``; one on the shared 17TRACK connection per due ``17track:<key>``."""
    with ctx.db.session() as session:
        keyed = parcels.keyed_carriers_due(session, now=ctx.clock())
    return [a for a in carriers.adapters_to_poll(ctx.carriers, keyed) if a.configured]


async def run(ctx: JobContext) -> dict[str, int]:
    """One poll tick over every configured carrier, carriers in parallel."""
    deadline = ctx.deadline()
    adapters = await anyio.to_thread.run_sync(carriers_to_poll, ctx)
    totals: Counter[str] = Counter()
    for counts in await asyncio.gather(*(poll_carrier(ctx, a, deadline) for a in adapters)):
        totals.update(counts)
    return dict(totals)
