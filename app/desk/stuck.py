"""``/desk/parcels?stuck=true``: parcels whose verdict is stuck now, and "open incident".

The list is the API's ``GET /v1/parcels?stuck=true`` (``app.parcels.stuck_now``), with the
rule that fired. Opening an incident calls the service ``POST /v1/incidents`` calls for a
parcel, with the type and first step detection would have chosen for that verdict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from app.api.deps import SessionDep
from app.api.pages import PageTokenQuery, keyset_page
from app.api.request_unit import UnitOfWorkRoute
from app.auto_incidents.service import incident_type_for, next_step_for
from app.carriers.service import carrier_codes
from app.desk.actor import desk_actor
from app.desk.web.auth import Desk, DeskDep, PostDep
from app.desk.web.render import page
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.incidents.schemas import IncidentType, NextStep
from app.parcels import service as parcels
from app.parcels import stuck_now
from app.parcels.models import Parcel
from app.stuck.checks import facts_of
from app.stuck.rules import rules_for
from app.stuck.verdict import judge, rule_name

router = APIRouter(route_class=UnitOfWorkRoute)
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class VerdictLine:
    rule: str
    kind: str
    since: datetime | None


def open_incidents_of(session: Session, parcel_ids: list[uuid.UUID]) -> dict[uuid.UUID, Incident]:
    if not parcel_ids:
        return {}
    found = session.exec(
        select(Incident)
        .where(col(Incident.parcel_id).in_(parcel_ids), col(Incident.status) != "resolved")
        .order_by(col(Incident.opened_at))
    )
    return {incident.parcel_id: incident for incident in found}


@router.get("/parcels", response_class=HTMLResponse)
def stuck_parcels(
    request: Request,
    desk: DeskDep,
    session: SessionDep,
    stuck: bool = True,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    page_token: PageTokenQuery = None,
) -> HTMLResponse:
    filters = parcels.ParcelFilters(carrier=carrier or None)
    tenant_id = desk.user.tenant_id
    listing = keyset_page(
        desk.settings,
        filters={**filters.as_dict(), "stuck": stuck},
        page_size=PAGE_SIZE,
        page_token=page_token,
        fetch=lambda after, limit: stuck_now.parcels_by_verdict(
            session,
            tenant_id=tenant_id,
            filters=filters,
            stuck=stuck,
            now=desk.now,
            after=after,
            limit=limit,
        ),
        position=lambda row: (row[0].created_at, row[0].id),
        view=lambda row: row,
    )
    rows = listing.items
    found = [parcel for parcel, _ in rows]
    return page(
        request,
        "parcels.html",
        desk,
        active="stuck",
        stuck=stuck,
        carrier=carrier or "",
        carriers=carrier_codes(),
        parcels=found,
        tracking_urls={p.id: parcels.tracking_url_of(p) for p in found},
        verdicts={
            p.id: VerdictLine(
                rule=rule_name(v) if v.stuck else "not stuck",
                kind=v.kind or "no_movement",
                since=v.stuck_at,
            )
            for p, v in rows
        },
        open_incidents=open_incidents_of(session, [p.id for p in found]),
        next_page_token=listing.next_page_token,
    )


@router.post("/parcels/{parcel_id}/incidents")
def open_incident(
    parcel_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    type: Annotated[IncidentType | None, Form()] = None,
) -> Response:
    """An incident for this parcel, typed and stepped as its verdict says (or a delay)."""
    parcel = parcels.get_parcel(session, tenant_id=desk.user.tenant_id, parcel_id=parcel_id)
    existing = open_incidents_of(session, [parcel.id]).get(parcel.id)
    if existing is not None:  # a double click, or someone else was quicker
        return RedirectResponse(f"/desk/incidents/{existing.id}", status_code=303)
    incident = incidents.open_incident(
        session,
        parcel=parcel,
        type=type or _verdict_type(session, parcel, desk.now),
        source="agent",
        actor=desk_actor(desk.user),
        now=desk.now,
        next_step=_first_step(session, parcel, desk),
    )
    return RedirectResponse(f"/desk/incidents/{incident.id}", status_code=303)


def _verdict_type(session: Session, parcel: Parcel, now: datetime) -> str:
    verdict = judge(facts_of(parcel), now=now, rules=rules_for(session, parcel.tenant_id))
    return incident_type_for(verdict, parcel) if verdict.stuck else "delay"


def _first_step(session: Session, parcel: Parcel, desk: Desk) -> NextStep:
    verdict = judge(facts_of(parcel), now=desk.now, rules=rules_for(session, parcel.tenant_id))
    if verdict.stuck:
        return next_step_for(verdict, parcel, desk.now)
    return incidents.default_next_step(
        source="agent", now=desk.now, hours=desk.settings.default_next_step_hours
    )
