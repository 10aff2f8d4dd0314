"""Parcels: register, read, list, and their tracking scans."""

from __future__ import annotations

import uuid
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response, status

from adapters.base import CarrierError, ScanStatus
from app.api.deps import NowDep, ParcelsWriteDep, ReadDep, SessionDep, SettingsDep
from app.api.pages import PageSizeQuery, PageTokenQuery, next_token, page_start, page_window
from app.carriers import hub as carriers
from app.core import metrics
from app.core.schemas import CountryCode, Page
from app.parcels import service as domain
from app.parcels.schemas import ParcelCreate, ParcelRead, ScanBatchCreate, ScanBatchResult, ScanRead
from app.tracking import apply as tracking
from app.tracking.schemas import RefreshRead

router = APIRouter(prefix="/v1/parcels", tags=["parcels"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ParcelRead)
def register_parcel(
    body: ParcelCreate,
    principal: ParcelsWriteDep,
    session: SessionDep,
    now: NowDep,
    response: Response,
) -> ParcelRead:
    """Register a parcel; without `carrier` it is detected from the tracking number."""
    carrier = carriers.resolve_carrier(body.carrier, body.tracking_number)
    parcel = domain.register_parcel(
        session, tenant_id=principal.tenant_id, data=body, carrier=carrier, now=now
    )
    session.commit()
    response.headers["Location"] = f"/v1/parcels/{parcel.id}"
    return domain.parcel_view(parcel)


@router.get("/{parcel_id}", response_model=ParcelRead)
def get_parcel(parcel_id: uuid.UUID, principal: ReadDep, session: SessionDep) -> ParcelRead:
    parcel = domain.get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
    return domain.parcel_view(parcel)


@router.get("", response_model=Page[ParcelRead])
def list_parcels(
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[ScanStatus | None, Query()] = None,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    order_id: Annotated[str | None, Query(max_length=100)] = None,
    destination_country: Annotated[CountryCode | None, Query()] = None,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[ParcelRead]:
    filters = domain.ParcelFilters(
        status=status.value if status else None,
        carrier=carrier,
        order_id=order_id,
        destination_country=destination_country,
    )
    size = page_window(settings, page_size)
    rows = domain.list_parcels(
        session,
        tenant_id=principal.tenant_id,
        filters=filters,
        after=page_start(settings, page_token, filters.as_dict()),
        limit=size + 1,
    )
    last = (rows[size - 1].created_at, rows[size - 1].id) if len(rows) > size else None
    return Page[ParcelRead](
        items=[domain.parcel_view(p) for p in rows[:size]],
        next_page_token=next_token(settings, filters.as_dict(), last),
    )


@router.get("/{parcel_id}/scans", response_model=list[ScanRead])
def list_scans(parcel_id: uuid.UUID, principal: ReadDep, session: SessionDep) -> list[ScanRead]:
    """Every stored tracking scan, oldest first."""
    parcel = domain.get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
    return [domain.scan_view(s) for s in domain.scans_of(session, parcel.id)]


@router.post("/{parcel_id}/scans", response_model=ScanBatchResult)
def push_scans(
    parcel_id: uuid.UUID,
    body: ScanBatchCreate,
    principal: ParcelsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> ScanBatchResult:
    """Store scans pushed in normalised form; repeats are ignored, late ones never regress."""
    parcel = domain.get_parcel(
        session, tenant_id=principal.tenant_id, parcel_id=parcel_id, lock=True
    )
    scans = [domain.scan_from_push(item) for item in body.scans]
    new = tracking.ingest_scans(session, parcel=parcel, scans=scans, source="api", now=now)
    session.commit()
    return ScanBatchResult(
        accepted=len(new), duplicates=len(scans) - len(new), parcel=domain.parcel_view(parcel)
    )


@router.post("/{parcel_id}/refresh", response_model=RefreshRead)
def refresh_parcel(
    parcel_id: uuid.UUID,
    principal: ParcelsWriteDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    request: Request,
) -> RefreshRead:
    """Poll the carrier now. A carrier failure is a 502/503/504 naming the carrier and
    leaves the stored scans untouched (only ``last_poll_error`` is recorded)."""
    parcel = domain.get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
    query = tracking.query_for(parcel)
    session.commit()  # hold no transaction (nor SQLite's write lock) during the carrier call
    hub: carriers.CarrierHub = request.app.state.carriers
    adapter = hub.get(parcel.carrier)
    try:
        [result] = anyio.from_thread.run(metrics.timed_fetch, adapter, [query])
    except CarrierError as error:
        parcel = domain.get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
        tracking.record_failure(session, parcel=parcel, error=error, now=now)
        session.commit()
        raise
    if result.outcome == "error":
        refused = CarrierError(parcel.carrier, result.error or "the carrier refused this number")
        parcel = domain.get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
        tracking.record_failure(session, parcel=parcel, error=refused, now=now)
        session.commit()
        raise refused
    parcel = domain.get_parcel(
        session, tenant_id=principal.tenant_id, parcel_id=parcel_id, lock=True
    )
    new_scans = tracking.apply_result(
        session, parcel=parcel, result=result, now=now, max_age=settings.max_tracking_age
    )
    session.commit()
    return RefreshRead(
        carrier=parcel.carrier,
        outcome="found" if result.outcome == "found" else "not_found",
        new_scans=[domain.scan_view(s) for s in new_scans],
        parcel=domain.parcel_view(parcel),
    )
