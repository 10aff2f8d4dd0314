"""Carrier claims of an incident: draft, file with the carrier's reference, record the outcome."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.api.pages import (
    PageSizeQuery,
    PageTokenQuery,
    keyset_page,
)
from app.core.actors import Actor
from app.core.schemas import Page
from app.incidents.service import get_incident_with_parcel
from app.workflow.claims import service as claims
from app.workflow.claims.schemas import ClaimCreate, ClaimRead, ClaimTransitionCreate

router = APIRouter(
    prefix="/v1/incidents/{incident_id}/claims", tags=["claims"], route_class=OneThreadRoute
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClaimRead)
def create_claim(
    incident_id: uuid.UUID,
    body: ClaimCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> ClaimRead:
    """Draft a claim; it shows its filing deadline from the ship date and the carrier's window."""
    incident, parcel = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id, lock=True
    )
    claim = claims.create_claim(
        session,
        incident=incident,
        parcel=parcel,
        body=body,
        actor=Actor.api_key(principal),
        settings=settings,
        now=now,
    )
    response.headers["Location"] = f"/v1/incidents/{incident_id}/claims/{claim.id}"
    return claims.claim_view(claim, settings, now)


@router.get("", response_model=Page[ClaimRead])
def list_claims(
    incident_id: uuid.UUID,
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[ClaimRead]:
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    filters = {"incident_id": str(incident.id)}
    return keyset_page(
        settings,
        filters=filters,
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: claims.list_claims(
            session, incident_id=incident.id, after=after, limit=limit
        ),
        position=lambda c: (c.created_at, c.id),
        view=lambda c: claims.claim_view(c, settings, now),
    )


@router.get("/{claim_id}", response_model=ClaimRead)
def get_claim(
    incident_id: uuid.UUID,
    claim_id: uuid.UUID,
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ClaimRead:
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    claim = claims.get_claim(session, incident_id=incident.id, claim_id=claim_id)
    return claims.claim_view(claim, settings, now)


@router.post("/{claim_id}/transitions", response_model=ClaimRead)
def transition_claim(
    incident_id: uuid.UUID,
    claim_id: uuid.UUID,
    body: ClaimTransitionCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ClaimRead:
    """draft -> filed (carrier_reference) -> approved / partially_approved (amount) / rejected
    (reason) -> paid; a move out of order is 409 listing ``allowed``."""
    incident, parcel = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id, lock=True
    )
    claim = claims.get_claim(session, incident_id=incident.id, claim_id=claim_id)
    claims.transition_claim(
        session,
        incident=incident,
        parcel=parcel,
        claim=claim,
        body=body,
        actor=Actor.api_key(principal),
        settings=settings,
        now=now,
    )
    return claims.claim_view(claim, settings, now)
