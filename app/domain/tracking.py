"""Applying what a carrier told us to a parcel: new scans, poll times, poll errors.

Shared by the on-demand refresh, pushed scans and the scheduler's polling, so all three
record the same way: scans stored (deduplicated), the next poll and the next stuck check
rescheduled, and open incidents told that the parcel moved. A failed call never touches
stored scans; it only records ``last_poll_error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from adapters.base import CarrierError, Scan, ScanStatus, TrackingQuery, TrackingResult
from app.domain import stuck_checks
from app.domain.auto_incidents import react_to_movement
from app.domain.models import Parcel, ScanRecord
from app.domain.parcels import store_scans
from app.domain.polling import next_poll_at, retry_after_failure

NOT_FOUND_YET = "not found at the carrier (new labels can take hours to appear)"
DEFAULT_MAX_AGE = timedelta(days=90)


def query_for(parcel: Parcel) -> TrackingQuery:
    return TrackingQuery(
        number=parcel.tracking_number,
        registered_at=parcel.created_at,
        shipped_at=parcel.shipped_at,
        origin_country=parcel.origin_country,
        destination_country=parcel.destination_country,
    )


def ingest_scans(
    session: Session, *, parcel: Parcel, scans: Sequence[Scan], source: str, now: datetime
) -> list[ScanRecord]:
    """Store scans and react: stuck check rescheduled, open incidents told it moved."""
    previous_scan_at = parcel.last_scan_at
    stored = store_scans(session, parcel=parcel, scans=scans, source=source, now=now)
    if not stored.inserted_ids:
        return []
    stuck_checks.schedule(session, parcel=parcel, now=now)
    if parcel.last_scan_at is not None:
        react_to_movement(
            session,
            parcel=parcel,
            newest_scan_at=parcel.last_scan_at,
            previous_scan_at=previous_scan_at,
            now=now,
        )
    return list(
        session.exec(
            select(ScanRecord)
            .where(col(ScanRecord.id).in_(stored.inserted_ids))
            .order_by(col(ScanRecord.occurred_at))
        )
    )


def apply_result(
    session: Session,
    *,
    parcel: Parcel,
    result: TrackingResult,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> list[ScanRecord]:
    """Store a per-number result and schedule the next poll; returns the new scans."""
    if result.outcome == "error":
        parcel.last_poll_error = (result.error or "carrier reported an error")[:500]
        parcel.next_poll_at = retry_after_failure(now)
        session.add(parcel)
        return []
    previous_status = ScanStatus(parcel.status)
    polled_before = parcel.last_polled_at is not None
    parcel.last_polled_at = now
    parcel.last_poll_error = None if result.outcome == "found" else NOT_FOUND_YET
    new = []
    if result.outcome == "found":
        new = ingest_scans(session, parcel=parcel, scans=result.scans, source="carrier", now=now)
    parcel.next_poll_at = next_poll_at(
        carrier=parcel.carrier,
        status=ScanStatus(parcel.status),
        # a parcel first seen already delivered still gets its one confirming poll
        previous_status=previous_status if polled_before else ScanStatus.UNKNOWN,
        registered_at=parcel.created_at,
        now=now,
        max_age=max_age,
    )
    session.add(parcel)
    return new


def record_failure(
    session: Session,
    *,
    parcel: Parcel,
    error: CarrierError,
    now: datetime,
    retry_at: datetime | None = None,
) -> None:
    """A whole call failed: remember why and try again later; scans stay as they were."""
    parcel.last_poll_error = f"{type(error).__name__}: {error.message}"[:500]
    parcel.next_poll_at = retry_at or retry_after_failure(now)
    session.add(parcel)
