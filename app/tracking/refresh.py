"""Refresh one parcel from its carrier on request, in short units of work of its own.

No transaction (nor SQLite's write lock) is held during the carrier call: the parcel is read
in one, and what the carrier answered is stored in another. A carrier failure is recorded on
the parcel (``last_poll_error``) and then raised, so the caller answers 502/503/504 naming
the carrier while the stored scans stay untouched.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import anyio

from adapters.base import CarrierError
from app.core import metrics
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.parcels import service as parcels
from app.tracking import apply
from app.tracking.schemas import RefreshRead


def refresh_parcel(
    db: Database,
    hub: CarrierHub,
    *,
    tenant_id: uuid.UUID,
    parcel_id: uuid.UUID,
    settings: Settings,
    now: datetime,
) -> RefreshRead:
    """Poll the parcel's carrier now (from a worker thread) and store what is new."""
    with db.session() as session:
        parcel = parcels.get_parcel(session, tenant_id=tenant_id, parcel_id=parcel_id)
        carrier, query = parcel.carrier, apply.query_for(parcel)
    adapter = hub.get(carrier)
    try:
        [result] = anyio.from_thread.run(metrics.timed_fetch, adapter, [query])
    except CarrierError as error:
        _record_failure(db, tenant_id=tenant_id, parcel_id=parcel_id, error=error, now=now)
        raise
    if result.failure is not None:  # the call for this number failed: say how, as a 502-504
        _record_failure(db, tenant_id=tenant_id, parcel_id=parcel_id, error=result.failure, now=now)
        raise result.failure
    if result.outcome == "error":
        refused = CarrierError(carrier, result.error or "the carrier refused this number")
        _record_failure(db, tenant_id=tenant_id, parcel_id=parcel_id, error=refused, now=now)
        raise refused
    with db.unit_of_work() as session:
        parcel = parcels.get_parcel(session, tenant_id=tenant_id, parcel_id=parcel_id, lock=True)
        new_scans = apply.apply_result(
            session,
            parcel=parcel,
            result=result,
            now=now,
            max_age=settings.max_tracking_age,
            future_tolerance=settings.scan_future_tolerance,
        )
        return RefreshRead(
            carrier=parcel.carrier,
            outcome="found" if result.outcome == "found" else "not_found",
            new_scans=[parcels.scan_view(s) for s in new_scans],
            parcel=parcels.parcel_view(parcel),
        )


def _record_failure(
    db: Database, *, tenant_id: uuid.UUID, parcel_id: uuid.UUID, error: CarrierError, now: datetime
) -> None:
    with db.unit_of_work() as session:
        parcel = parcels.get_parcel(session, tenant_id=tenant_id, parcel_id=parcel_id)
        apply.record_failure(
            session, parcel=parcel, message=f"{type(error).__name__}: {error.message}", now=now
        )
