"""Storing what one poll page's calls brought back, in one transaction per page.

The rules of what a failed call means (a number's problem or its carrier's) are in the
module docstring of ``app.tracking.job``, which fetches the pages this module stores.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from adapters.base import (
    CarrierAuthError,
    CarrierError,
    CarrierRateLimited,
    TrackingQuery,
    TrackingResult,
)
from app.carriers import states as carrier_states
from app.core import metrics
from app.core.jobs import JobContext
from app.parcels.models import Parcel
from app.tracking import apply as tracking

log = structlog.get_logger("scheduler.poll")
# a parcel whose answer could not be stored is polled again this much later
RETRY_FAILED = timedelta(hours=1)


@dataclass
class Evidence:
    """What one poll of one carrier has seen so far: does the carrier answer anyone?"""

    answered: int = 0
    failed_numbers: set[str] = field(default_factory=set)
    judged: int = -1
    """How many failed numbers ``carrier_is_down`` last judged, and what it found (``down``)."""
    down: bool = False

    def saw(self, results: Sequence[TrackingResult]) -> None:
        for result in results:
            if result.call_failed:
                self.failed_numbers.add(result.tracking_number)
            else:
                self.answered += 1


def carrier_is_down(session: Session, ctx: JobContext, carrier: str, evidence: Evidence) -> bool:
    """Carrier-wide evidence that the carrier, not a number, is failing (``app.tracking.job``)."""
    if evidence.answered:
        return False
    if evidence.judged == len(evidence.failed_numbers):
        return evidence.down  # nothing new since this poll last asked: no second row lock
    if carrier_states.is_unavailable(session, carrier):
        down = True
    else:
        failed = carrier_states.note_failures(
            session, carrier=carrier, numbers=evidence.failed_numbers
        )
        down = failed >= ctx.settings.carrier_outage_min_numbers
    evidence.judged, evidence.down = len(evidence.failed_numbers), down
    return down


@dataclass(frozen=True, slots=True)
class Leased:
    parcel_id: uuid.UUID
    query: TrackingQuery
    lease_until: datetime


Fetched = tuple[list[Leased], list[TrackingResult] | CarrierError]


def _locked(session: Session, leased: Sequence[Leased]) -> dict[uuid.UUID, Parcel]:
    rows = session.exec(
        select(Parcel)
        .where(col(Parcel.id).in_([c.parcel_id for c in leased]))
        .order_by(col(Parcel.id))
        .with_for_update()
    ).all()
    return {p.id: p for p in rows}


def store_results(
    ctx: JobContext,
    carrier: str,
    leased: Sequence[Leased],
    results: Sequence[TrackingResult],
    evidence: Evidence,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    now = ctx.clock()
    by_number = {r.tracking_number: r for r in results}
    with ctx.db.unit_of_work() as session, session.no_autoflush:
        # no flush per parcel: every parcel's changes go out together at commit
        failed_calls = any(r.call_failed for r in results)
        down = failed_calls and carrier_is_down(session, ctx, carrier, evidence)
        parcels = _locked(session, leased)
        batch: list[tuple[Parcel, TrackingResult]] = []
        unanswered: list[tuple[Parcel, TrackingResult]] = []
        for item in leased:
            parcel = parcels.get(item.parcel_id)
            if parcel is None:  # deleted meanwhile
                continue
            result = by_number.get(item.query.number) or TrackingResult.failed(
                item.query.number, "the carrier's answer did not include this number"
            )
            parcel.poll_lease_until = None
            counts["parcels_failed" if result.call_failed else f"parcels_{result.outcome}"] += 1
            if result.call_failed and down:
                unanswered.append((parcel, result))  # the carrier's silence, not the number's
            else:
                batch.append((parcel, result))
        new_scans = tracking.apply_results(
            session,
            batch,
            now=now,
            max_age=ctx.settings.max_tracking_age,
            future_tolerance=ctx.settings.scan_future_tolerance,
        )
        counts["scans_new"] += sum(len(ids) for ids in new_scans)
        for parcel, result in batch:
            if result.outcome == "error":  # refused, or its call failed while others answered
                counts["number_errors"] += 1
                metrics.CARRIER_NUMBER_ERRORS.labels(carrier).inc()
                if tracking.count_number_failure(session, parcel, ctx.settings, now):
                    counts["tracking_errors_opened"] += 1
        for parcel, result in unanswered:
            tracking.record_failure(session, parcel=parcel, message=result.error or "", now=now)
        if evidence.answered and carrier_states.record_success(session, carrier=carrier, now=now):
            counts["carrier_recovered"] += 1
        if down:
            error = unanswered[0][1].error if unanswered else None
            counts.update(_record_outage(session, carrier, error or "no answer", now))
    return counts


def store_failure(
    ctx: JobContext,
    carrier: str,
    leased: Sequence[Leased],
    error: CarrierError,
    evidence: Evidence,
) -> Counter[str]:
    """A whole call failed and could not be narrowed to a number: the carrier's silence."""
    counts: Counter[str] = Counter({"parcels_failed": len(leased)})
    now = ctx.clock()
    retry_at = None
    if isinstance(error, CarrierRateLimited) and error.retry_after is not None:
        retry_at = now + timedelta(seconds=error.retry_after)
    message = f"{type(error).__name__}: {error.message}"
    with ctx.db.unit_of_work() as session:
        for parcel in _locked(session, leased).values():
            tracking.record_failure(
                session, parcel=parcel, message=message, now=now, retry_at=retry_at
            )
            parcel.poll_lease_until = None
        # being asked to slow down is not an outage; refused credentials always are
        outage = isinstance(error, CarrierAuthError) or (
            not isinstance(error, CarrierRateLimited)
            and carrier_is_down(session, ctx, carrier, evidence)
        )
        if outage:
            counts.update(_record_outage(session, carrier, message, now))
    return counts


def _record_outage(session: Session, carrier: str, error: str, now: datetime) -> Counter[str]:
    started = carrier_states.record_outage(session, carrier=carrier, error=error[:500], now=now)
    return Counter({"carrier_unavailable": 1}) if started else Counter()


def store_page(
    ctx: JobContext, carrier: str, fetched: Sequence[Fetched], evidence: Evidence
) -> Counter[str]:
    """Store one leased page's answers: failed calls first, then every answer in one transaction."""
    counts: Counter[str] = Counter()
    answered: list[Leased] = []
    results: list[TrackingResult] = []
    for chunk, outcome in fetched:
        if isinstance(outcome, CarrierError):
            counts.update(store_failure(ctx, carrier, chunk, outcome, evidence))
        else:
            answered += chunk
            results += outcome
    if answered:  # the carrier answered, so it is available: recorded after any failure
        counts.update(_store_answers(ctx, carrier, answered, results, evidence))
    return counts


def _store_answers(
    ctx: JobContext,
    carrier: str,
    leased: Sequence[Leased],
    results: Sequence[TrackingResult],
    evidence: Evidence,
) -> Counter[str]:
    """``store_results`` for the page, in one transaction. A parcel whose answer makes that
    fail (a bug its data sets off) would fail its whole page every poll: the page is then
    stored parcel by parcel (which writes what the page would, ``tests/tracking/
    test_page_store.py``), and the parcel that fails alone is logged, counted
    (``store_errors``) and polled again after ``RETRY_FAILED``. The database being unreachable
    is no parcel's fault: that fails the poll, as before."""
    try:
        return store_results(ctx, carrier, leased, results, evidence)
    except OperationalError:
        raise
    except Exception:
        log.exception("storing a poll page failed: storing its parcels one by one", carrier=carrier)
    counts: Counter[str] = Counter({"pages_split": 1})
    by_number = {result.tracking_number: result for result in results}
    for item in leased:
        answer = by_number.get(item.query.number)
        try:
            counts.update(store_results(ctx, carrier, [item], [answer] if answer else [], evidence))
        except OperationalError:
            raise
        except Exception:
            log.exception(
                "could not store a parcel's answer", carrier=carrier, parcel_id=str(item.parcel_id)
            )
            counts["store_errors"] += 1
            _set_aside(ctx, item.parcel_id)
    return counts


def _set_aside(ctx: JobContext, parcel_id: uuid.UUID) -> None:
    with ctx.db.unit_of_work() as session:
        session.execute(
            update(Parcel)
            .where(col(Parcel.id) == parcel_id)
            .values(poll_lease_until=None, next_poll_at=ctx.clock() + RETRY_FAILED)
        )
