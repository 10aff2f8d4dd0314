"""Tracking in by hand: scans pushed in normalised form, and a refresh from the carrier now.

Both live under ``/v1/parcels/{id}``; reading a parcel and its stored scans is
``app.parcels.router``.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from app.api.deps import NowDep, ParcelsWriteDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.parcels import service as parcels
from app.parcels.schemas import ScanBatchCreate, ScanBatchResult
from app.tracking import apply
from app.tracking.refresh import refresh_parcel as refresh_from_carrier
from app.tracking.schemas import RefreshRead

router = APIRouter(prefix="/v1/parcels", tags=["parcels"], route_class=OneThreadRoute)


@router.post("/{parcel_id}/scans", response_model=ScanBatchResult)
def push_scans(
    parcel_id: uuid.UUID,
    body: ScanBatchCreate,
    principal: ParcelsWriteDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> ScanBatchResult:
    """Store scans pushed in normalised form; repeats are ignored, late ones never regress,
    and one dated ahead of the server clock (``RT_SCAN_FUTURE_TOLERANCE_MINUTES``) is a 422."""
    parcel = parcels.get_parcel(
        session, tenant_id=principal.tenant_id, parcel_id=parcel_id, lock=True
    )
    scans = [parcels.scan_from_push(item) for item in body.scans]
    apply.refuse_future_scans(scans, now=now, tolerance=settings.scan_future_tolerance)
    new = apply.ingest_scans(session, parcel=parcel, scans=scans, source="api", now=now)
    return ScanBatchResult(
        accepted=len(new), duplicates=len(scans) - len(new), parcel=parcels.parcel_view(parcel)
    )


@router.post("/{parcel_id}/refresh", response_model=RefreshRead)
def refresh_parcel(
    parcel_id: uuid.UUID,
    principal: ParcelsWriteDep,
    now: NowDep,
    settings: SettingsDep,
    request: Request,
) -> RefreshRead:
    """Poll the carrier now. A carrier failure is a 502/503/504 naming the carrier and
    leaves the stored scans untouched (only ``last_poll_error`` is recorded)."""
    return refresh_from_carrier(
        request.app.state.db,
        request.app.state.carriers,
        tenant_id=principal.tenant_id,
        parcel_id=parcel_id,
        settings=settings,
        now=now,
    )
