"""Applying what a carrier told us to a parcel: new scans, poll times, poll errors.

Shared by the on-demand refresh, pushed scans and the scheduler's polling, so all three
record the same way: scans stored (deduplicated), the next poll and the next stuck check
rescheduled, and open incidents told that the parcel moved. A failed call never touches
stored scans; it only records ``last_poll_error``.

Each parcel with new scans (or a new estimate from its carrier) is re-estimated
(``app/parcels/eta_update.py``); one page's parcels share the lane queries that needs.

A scan dated ahead of our clock (beyond ``RT_SCAN_FUTURE_TOLERANCE_MINUTES``) would make the
parcel look fresh until that date and keep stuck detection quiet: pushed, it is refused (422
naming the scan); from a carrier, whose clock or time zone is wrong, it is dropped and logged.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlmodel import Session, col, select

from adapters.base import DeliveryWindow, Scan, ScanStatus, TrackingQuery, TrackingResult
from app.auto_incidents.service import (
    has_moved,
    open_incidents_of,
    open_tracking_error,
    react_to_movement,
)
from app.core.errors import ValidationFailed
from app.core.schemas import iso_utc
from app.core.settings import Settings
from app.parcels.eta_history import LaneHistory
from app.parcels.eta_update import is_news, update_estimate
from app.parcels.models import Parcel, ScanRecord
from app.parcels.service import store_scans_many
from app.stuck import checks as stuck_checks
from app.tracking.poll_schedule import backoff_after_failures, next_poll_at, retry_after_failure

NOT_FOUND_YET = "not found at the carrier (new labels can take hours to appear)"
DEFAULT_MAX_AGE = timedelta(days=90)
DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=10)
log = structlog.get_logger("tracking.apply")


class Trackable(Protocol):
    """What a carrier is asked about a parcel: a parcel, or a row of those columns."""

    @property
    def tracking_number(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def shipped_at(self) -> datetime | None: ...
    @property
    def origin_country(self) -> str | None: ...
    @property
    def destination_country(self) -> str | None: ...


def query_for(parcel: Trackable) -> TrackingQuery:
    return TrackingQuery(
        number=parcel.tracking_number,
        registered_at=parcel.created_at,
        shipped_at=parcel.shipped_at,
        origin_country=parcel.origin_country,
        destination_country=parcel.destination_country,
    )


def refuse_future_scans(
    scans: Sequence[Scan], *, now: datetime, tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE
) -> None:
    """Pushed scans: one dated later than ``now + tolerance`` is a 422 naming each such scan."""
    limit = now + tolerance
    message = (
        f"is in the future: later than the server's clock ({iso_utc(now)}) plus "
        f"{tolerance.total_seconds() / 60:g} minutes"
    )
    errors = [
        {"field": f"scans.{index}.occurred_at", "in": "body", "message": message}
        for index, scan in enumerate(scans)
        if scan.occurred_at > limit
    ]
    if errors:
        raise ValidationFailed(errors[0]["field"], message, errors=errors)


def _without_future(
    parcel: Parcel, scans: Sequence[Scan], *, now: datetime, tolerance: timedelta
) -> Sequence[Scan]:
    """A carrier's answer minus scans dated ahead of our clock: counted in the log, never stored
    (once our clock has passed their date, the next poll stores them like any other)."""
    limit = now + tolerance
    kept = [scan for scan in scans if scan.occurred_at <= limit]
    if len(kept) < len(scans):
        log.warning(
            "future_scans_dropped",
            carrier=parcel.carrier,
            parcel_id=str(parcel.id),
            dropped=len(scans) - len(kept),
            latest=iso_utc(max(scan.occurred_at for scan in scans)),
            now=iso_utc(now),
        )
    return kept


def ingest_scans(
    session: Session, *, parcel: Parcel, scans: Sequence[Scan], source: str, now: datetime
) -> list[ScanRecord]:
    """Store scans and react: stuck check rescheduled, open incidents told it moved."""
    inserted = ingest_scans_many(session, [(parcel, scans)], source=source, now=now)[0]
    return _records(session, inserted)


def ingest_scans_many(
    session: Session,
    batch: Sequence[tuple[Parcel, Sequence[Scan]]],
    *,
    source: str,
    now: datetime,
    carrier_windows: Mapping[uuid.UUID, DeliveryWindow] | None = None,
) -> list[list[uuid.UUID]]:
    """``ingest_scans`` for a page of parcels; the ids of each one's new scans.

    The reads a page needs (newest scans, open incidents) are one query each for the whole
    page; what follows from each parcel's scans is then written parcel by parcel, in order.
    ``carrier_windows`` holds the carriers' own estimates from their answers, by parcel id.
    """
    previous = [parcel.last_scan_at for parcel, _ in batch]
    stored = store_scans_many(session, batch, source=source, now=now)
    moved = [
        parcel
        for (parcel, _), before, result in zip(batch, previous, stored, strict=True)
        if result.inserted_ids
        and parcel.last_scan_at is not None
        and has_moved(parcel.last_scan_at, before)
    ]
    incidents_by_parcel = open_incidents_of(session, [parcel.id for parcel in moved])
    history = LaneHistory(session)
    windows = carrier_windows or {}
    for (parcel, _), before, result in zip(batch, previous, stored, strict=True):
        if not result.inserted_ids:
            continue
        stuck_checks.schedule(session, parcel=parcel, now=now)
        update_estimate(
            session, parcel=parcel, now=now, carrier_window=windows.get(parcel.id), history=history
        )
        if parcel.last_scan_at is not None:
            react_to_movement(
                session,
                parcel=parcel,
                newest_scan_at=parcel.last_scan_at,
                previous_scan_at=before,
                now=now,
                open_incidents=incidents_by_parcel.get(parcel.id, []),
            )
    return [result.inserted_ids for result in stored]


def _records(session: Session, ids: Sequence[uuid.UUID]) -> list[ScanRecord]:
    if not ids:
        return []
    return list(
        session.exec(
            select(ScanRecord)
            .where(col(ScanRecord.id).in_(ids))
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
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> list[ScanRecord]:
    """Store a per-number result and schedule the next poll; returns the new scans."""
    inserted = apply_results(
        session, [(parcel, result)], now=now, max_age=max_age, future_tolerance=future_tolerance
    )[0]
    return _records(session, inserted)


def apply_results(
    session: Session,
    batch: Sequence[tuple[Parcel, TrackingResult]],
    *,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> list[list[uuid.UUID]]:
    """``apply_result`` for a poll page; the ids of each parcel's new scans."""
    previous_status = [ScanStatus(parcel.status) for parcel, _ in batch]
    polled_before = [parcel.last_polled_at is not None for parcel, _ in batch]
    found: list[tuple[Parcel, Sequence[Scan]]] = []
    for parcel, result in batch:
        if result.outcome == "error":
            parcel.last_poll_error = (result.error or "carrier reported an error")[:500]
            parcel.next_poll_at = retry_after_failure(now)
            session.add(parcel)
            continue
        parcel.last_polled_at = now
        parcel.poll_errors = 0
        parcel.last_poll_error = None if result.outcome == "found" else NOT_FOUND_YET
        if result.outcome == "found":
            scans = _without_future(parcel, result.scans, now=now, tolerance=future_tolerance)
            found.append((parcel, scans))
    windows = {
        parcel.id: result.estimated_delivery
        for parcel, result in batch
        if result.outcome == "found" and result.estimated_delivery is not None
    }
    inserted_ids = (
        ingest_scans_many(session, found, source="carrier", now=now, carrier_windows=windows)
        if found
        else []
    )
    new_by_parcel = {parcel.id: ids for (parcel, _), ids in zip(found, inserted_ids, strict=True)}
    for (parcel, result), before, polled in zip(batch, previous_status, polled_before, strict=True):
        if result.outcome == "error":
            continue
        window = windows.get(parcel.id)
        if not new_by_parcel.get(parcel.id) and is_news(parcel, window):
            # the carrier moved its estimate without a new scan: no lane query needed
            update_estimate(session, parcel=parcel, now=now, carrier_window=window)
        parcel.next_poll_at = next_poll_at(
            carrier=parcel.carrier,
            status=ScanStatus(parcel.status),
            # a parcel first seen already delivered still gets its one confirming poll
            previous_status=before if polled else ScanStatus.UNKNOWN,
            registered_at=parcel.created_at,
            now=now,
            max_age=max_age,
        )
        session.add(parcel)
    return [new_by_parcel.get(parcel.id, []) for parcel, _ in batch]


def record_failure(
    session: Session,
    *,
    parcel: Parcel,
    message: str,
    now: datetime,
    retry_at: datetime | None = None,
) -> None:
    """The carrier could not be asked: remember why and try again later. Scans, and the
    number's own count of failures, stay as they were: this is the carrier's silence."""
    parcel.last_poll_error = message[:500]
    parcel.next_poll_at = retry_at or retry_after_failure(now)
    session.add(parcel)


def count_number_failure(
    session: Session, parcel: Parcel, settings: Settings, now: datetime
) -> bool:
    """This number failed while its carrier answered others: it backs off alone (doubling up
    to ``RT_POLL_ERROR_BACKOFF_MAX_HOURS``) and, at ``RT_POLL_ERROR_LIMIT`` failures in a row,
    opens a ``tracking_error`` incident; True when this call opened it."""
    parcel.poll_errors = (parcel.poll_errors or 0) + 1
    parcel.next_poll_at = backoff_after_failures(
        now, parcel.poll_errors, ceiling=timedelta(hours=settings.poll_error_backoff_max_hours)
    )
    session.add(parcel)
    if parcel.poll_errors != settings.poll_error_limit:
        return False
    return open_tracking_error(session, parcel=parcel, now=now) is not None
