"""The poll job: fetch due parcels from their carriers and store what is new.

Each carrier runs its own loop (lease a page of its due parcels, fetch them in the carrier's
batch size under its concurrency limit, store), so one carrier's outage or slowness never
slows the others. A leased parcel carries a lease: another process skips it until the lease
expires, so a crashed poller delays a parcel by at most one lease, never loses it.

A failing number is that number's problem, never its carrier's
------------------------------------------------------------------
- A carrier that calls once per number (DHL) answers a failed call as that number's result.
- A batch call that fails whole (FedEx, UPS, 17TRACK) is split in two and each half tried
  again, down to single numbers, so a poison number is found in about 2·log2(batch) calls.
  The split stops when both halves fail before the carrier has answered anything in this
  poll: that looks like the carrier, not a number. Credential and quota errors are never
  split (``CarrierError.carrier_wide``).
- The carrier is **unavailable** (``carrier.unavailable``; stuck detection pauses for it)
  only on carrier-wide evidence (``carrier_is_down``): a poll in which it answered no number
  at all, when calls for at least ``RT_CARRIER_OUTAGE_MIN_NUMBERS`` distinct numbers have
  failed since it last answered anyone (counted across polls and processes in its
  ``carrier_states`` row), or it refused our credentials. Being rate limited never is.
- Any other failed number fails alone: it backs off alone (its own
  ``next_poll_at``, doubling up to ``RT_POLL_ERROR_BACKOFF_MAX_HOURS``), is counted
  (``rt_carrier_number_errors_total``), and after ``RT_POLL_ERROR_LIMIT`` failures in a row
  opens a ``tracking_error`` incident instead of being skipped silently forever.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import anyio
import structlog
from sqlmodel import col, or_, select, update

from adapters.base import (
    CarrierAdapter,
    CarrierError,
    TrackingResult,
    isolating_a_number,
)
from app.carriers import service as carriers
from app.core import metrics
from app.core.jobs import JobContext
from app.parcels import service as parcels
from app.parcels.models import Parcel
from app.tracking import apply as tracking
from app.tracking.store import Evidence, Fetched, Leased, store_page

log = structlog.get_logger("scheduler.poll")
# pages being stored while the next is fetched; their parcels differ, so they never contend
STORES_IN_FLIGHT = 2


# what a carrier is asked about a parcel (``tracking.query_for``), and its place in the queue
_QUERY_COLUMNS = (
    col(Parcel.id),
    col(Parcel.next_poll_at),
    col(Parcel.tracking_number),
    col(Parcel.created_at),
    col(Parcel.shipped_at),
    col(Parcel.origin_country),
    col(Parcel.destination_country),
)


def claim_size(ctx: JobContext, batch_size: int) -> int:
    """``poll_claim_size`` rounded up to whole carrier calls: a page of 500 FedEx numbers (30 a
    call) made 16 full calls and one of 20, so 10,000 parcels took 340 calls instead of 334."""
    per_call = max(1, batch_size)
    return -(-ctx.settings.poll_claim_size // per_call) * per_call


def lease_due(ctx: JobContext, *, carrier: str, batch_size: int = 1) -> list[Leased]:
    """Lease up to ``claim_size`` due parcels of ``carrier`` that nobody else holds.

    One statement: the due rows are picked (skipping rows another poller has locked),
    leased and returned at once, soonest due first.
    """
    now = ctx.clock()
    lease_until = now + timedelta(seconds=ctx.settings.poll_lease_seconds)
    due = (
        select(col(Parcel.id))
        .where(
            col(Parcel.next_poll_at) <= now,
            col(Parcel.carrier) == carrier,
            or_(col(Parcel.poll_lease_until).is_(None), col(Parcel.poll_lease_until) < now),
        )
        .order_by(col(Parcel.next_poll_at))
        .limit(claim_size(ctx, batch_size))
        .with_for_update(skip_locked=True)
    )
    lease = (
        update(Parcel)
        .where(col(Parcel.id).in_(due.scalar_subquery()))
        .values(poll_lease_until=lease_until)
        .returning(*_QUERY_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    with ctx.db.unit_of_work() as session:
        rows = sorted(session.execute(lease), key=lambda row: (row.next_poll_at, row.id))
    return [Leased(row.id, tracking.query_for(row), lease_until) for row in rows]


async def _fetch_chunk(
    adapter: CarrierAdapter, chunk: list[Leased], evidence: Evidence, counts: Counter[str]
) -> Fetched:
    """One carrier call; a whole-call failure is split to find the number that caused it."""
    counts["calls"] += 1
    try:
        results = await metrics.timed_fetch(adapter, [c.query for c in chunk])
    except CarrierError as error:
        log.warning(
            "carrier call failed", carrier=adapter.code, error=str(error), parcels=len(chunk)
        )
        evidence.failed_numbers.update(leased.query.number for leased in chunk)
        if error.carrier_wide:
            return chunk, error
        if len(chunk) == 1:
            results = [TrackingResult.unanswered(chunk[0].query.number, error)]
        else:
            return await _split(adapter, chunk, error, evidence, counts)
    evidence.saw(results)
    return chunk, results


async def _split(
    adapter: CarrierAdapter,
    chunk: list[Leased],
    error: CarrierError,
    evidence: Evidence,
    counts: Counter[str],
) -> Fetched:
    """Bisect a failed batch: each half again, unless both fail while nothing answers."""
    counts["batches_split"] += 1
    middle = len(chunk) // 2
    with isolating_a_number():  # the half holding the bad number fails: not the carrier's health
        first = await _fetch_chunk(adapter, chunk[:middle], evidence, counts)
        second = await _fetch_chunk(adapter, chunk[middle:], evidence, counts)
    halves = (first, second)
    if evidence.answered == 0 and all(isinstance(o, CarrierError) for _, o in halves):
        return chunk, error  # the carrier, not a number
    results: list[TrackingResult] = []
    for part, outcome in halves:
        if isinstance(outcome, CarrierError):
            outcome = [TrackingResult.unanswered(leased.query.number, outcome) for leased in part]
        results += outcome
    return chunk, results


async def poll_carrier(ctx: JobContext, adapter: CarrierAdapter, deadline: float) -> Counter[str]:
    """Lease, fetch and store pages of the carrier's due parcels until none is left.

    The carrier's concurrency limit, not our database round trips, sets the pace: the calls
    of every leased page share one queue, the next page is leased while the current one's
    last calls are still queued (so no slot idles at a page's end), and a fetched page is
    stored while later ones are fetched. Until the carrier has answered someone in this
    poll, a page is fetched whole before the next is leased: a page that fails whole then
    stops the poll and leaves the rest for the next tick (``Pipeline``).
    """
    flow = Pipeline(ctx, adapter)
    try:
        while ctx.monotonic() < deadline:
            leased = await anyio.to_thread.run_sync(
                lambda: lease_due(ctx, carrier=adapter.code, batch_size=flow.size)
            )
            if not leased:
                break
            flow.counts["claimed"] += len(leased)
            fetching = flow.fetch(leased)
            if flow.evidence.answered == 0:
                fetched = await fetching
                if flow.evidence.answered == 0 and all(
                    isinstance(outcome, CarrierError) or all(r.call_failed for r in outcome)
                    for _, outcome in fetched
                ):
                    break  # the carrier is failing: leave the rest for the next tick
            await flow.room_for_a_page()
    finally:
        await flow.finish()
    return flow.counts


class Pipeline:
    """One carrier's pages between leasing and storing: calls in flight, pages being stored.

    ``room_for_a_page`` holds the next lease back until fewer calls wait for a slot than the
    carrier takes at once, and at most ``STORES_IN_FLIGHT`` earlier pages are unstored, so
    leased parcels never wait long for their call or their store (their lease runs on).
    """

    def __init__(self, ctx: JobContext, adapter: CarrierAdapter) -> None:
        self.ctx, self.adapter = ctx, adapter
        self.counts: Counter[str] = Counter()
        self.evidence = Evidence()
        self.size = max(1, adapter.capabilities.batch_size)
        self.concurrency = max(1, adapter.capabilities.max_concurrency)
        self.slots = asyncio.Semaphore(self.concurrency)
        self.stores = asyncio.Semaphore(STORES_IN_FLIGHT)
        self.waiting = 0  # calls queued for a slot
        self.pages: list[asyncio.Task[Counter[str]]] = []
        self.progress = asyncio.Event()

    def fetch(self, leased: list[Leased]) -> asyncio.Future[list[Fetched]]:
        """Queue the page's calls; its store follows once every call has answered."""
        chunks = [leased[i : i + self.size] for i in range(0, len(leased), self.size)]
        self.waiting += len(chunks)
        fetching = asyncio.gather(*(self._call(chunk) for chunk in chunks))
        page = asyncio.create_task(self._store(fetching))
        page.add_done_callback(lambda _: self.progress.set())
        self.pages.append(page)
        return fetching

    async def _call(self, chunk: list[Leased]) -> Fetched:
        async with self.slots:
            self.waiting -= 1
            self.progress.set()
            return await _fetch_chunk(self.adapter, chunk, self.evidence, self.counts)

    async def _store(self, fetching: asyncio.Future[list[Fetched]]) -> Counter[str]:
        fetched = await fetching
        async with self.stores:
            return await anyio.to_thread.run_sync(
                store_page, self.ctx, self.adapter.code, fetched, self.evidence
            )

    async def room_for_a_page(self) -> None:
        while True:
            self._collect()
            if self.waiting < self.concurrency and len(self.pages) <= STORES_IN_FLIGHT:
                return
            self.progress.clear()
            await self.progress.wait()

    def _collect(self) -> None:
        """Count what stored pages did (a failed store raises here, as it would awaited)."""
        while self.pages and self.pages[0].done():
            self.counts.update(self.pages.pop(0).result())

    async def finish(self) -> None:
        while self.pages:
            self.counts.update(await self.pages.pop(0))


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
