"""Parcels: register, read, list, and read their stored tracking scans.

Scans pushed in and refreshes from the carrier are ``app.tracking.router``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from adapters.base import ScanStatus
from app.api.deps import NowDep, ParcelsWriteDep, ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.api.pages import (
    PageSizeQuery,
    PageTokenQuery,
    keyset_page,
)
from app.carriers import service as carriers
from app.core.schemas import CountryCode, Page
from app.parcels import service as domain
from app.parcels import stuck_now
from app.parcels.schemas import ParcelCreate, ParcelRead, ParcelUpdate, ScanRead
from app.stuck.verdict import rule_name

router = APIRouter(prefix="/v1/parcels", tags=["parcels"], route_class=OneThreadRoute)


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
    response.headers["Location"] = f"/v1/parcels/{parcel.id}"
    return domain.parcel_view(parcel)


@router.get("/{parcel_id}", response_model=ParcelRead)
def get_parcel(parcel_id: uuid.UUID, principal: ReadDep, session: SessionDep) -> ParcelRead:
    parcel = domain.get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
    return domain.parcel_view(parcel)


@router.patch("/{parcel_id}", response_model=ParcelRead)
def update_parcel(
    parcel_id: uuid.UUID,
    body: ParcelUpdate,
    principal: ParcelsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> ParcelRead:
    """Change the customer's wish for notices (`customer.proactive_notices`): false when they
    answer a notice's unsubscribe link; messages already queued to them are not sent."""
    parcel = domain.update_parcel(
        session, tenant_id=principal.tenant_id, parcel_id=parcel_id, data=body, now=now
    )
    return domain.parcel_view(parcel)


@router.get("", response_model=Page[ParcelRead])
def list_parcels(
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    status: Annotated[ScanStatus | None, Query()] = None,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    order_id: Annotated[str | None, Query(max_length=100)] = None,
    destination_country: Annotated[CountryCode | None, Query()] = None,
    stuck: Annotated[
        bool | None,
        Query(
            description="true: only parcels whose detection verdict is stuck now, whatever "
            "incidents exist, each with verdict, stuck_since and threshold_rule; false: the rest."
        ),
    ] = None,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[ParcelRead]:
    filters = domain.ParcelFilters(
        status=status.value if status else None,
        carrier=carrier,
        order_id=order_id,
        destination_country=destination_country,
    )
    if stuck is None:
        return keyset_page(
            settings,
            filters=filters.as_dict(),
            page_size=page_size,
            page_token=page_token,
            fetch=lambda after, limit: domain.list_parcels(
                session,
                tenant_id=principal.tenant_id,
                filters=filters,
                after=after,
                limit=limit,
            ),
            position=lambda p: (p.created_at, p.id),
            view=domain.parcel_view,
        )
    return keyset_page(
        settings,
        filters={**filters.as_dict(), "stuck": stuck},
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: stuck_now.parcels_by_verdict(
            session,
            tenant_id=principal.tenant_id,
            filters=filters,
            stuck=stuck,
            now=now,
            after=after,
            limit=limit,
        ),
        position=lambda row: (row[0].created_at, row[0].id),
        view=lambda row: domain.parcel_view(row[0]).model_copy(
            update={
                "verdict": row[1].kind,
                "stuck_since": row[1].stuck_at,
                "threshold_rule": rule_name(row[1]) if row[1].stuck else None,
            }
        ),
    )


@router.get("/{parcel_id}/scans", response_model=list[ScanRead])
def list_scans(parcel_id: uuid.UUID, principal: ReadDep, session: SessionDep) -> list[ScanRead]:
    """Every stored tracking scan, oldest first."""
    parcel = domain.get_parcel(session, tenant_id=principal.tenant_id, parcel_id=parcel_id)
    return [domain.scan_view(s) for s in domain.scans_of(session, parcel.id)]
