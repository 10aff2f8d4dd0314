"""``/desk/search?q=``: incidents and parcels by order id, tracking number, customer or ticket.

Incidents are found by the API list's own ``q`` filter (``app.incidents.queries``); parcels
that have no incident yet by the same substring match over the same parcel columns. A search
with exactly one incident and no other parcel goes straight to that incident.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import exists, or_
from sqlmodel import Session, col, select

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.desk.web.auth import DeskDep
from app.desk.web.render import page
from app.incidents import queries as incident_queries
from app.incidents.models import Incident
from app.incidents.search import ESCAPE, escape_like
from app.incidents.views import incident_view
from app.parcels.models import TRIGRAM_COLUMNS, Parcel
from app.parcels.service import tracking_url_of

router = APIRouter(route_class=UnitOfWorkRoute)
LIMIT = 50


def parcels_without_incident(
    session: Session, *, tenant_id: uuid.UUID, q: str, limit: int
) -> list[Parcel]:
    pattern = f"%{escape_like(q)}%"
    matches = [col(getattr(Parcel, name)).ilike(pattern, escape=ESCAPE) for name in TRIGRAM_COLUMNS]
    has_incident = exists().where(col(Incident.parcel_id) == col(Parcel.id))
    query = (
        select(Parcel)
        .where(col(Parcel.tenant_id) == tenant_id, or_(*matches), ~has_incident)
        .order_by(col(Parcel.created_at).desc())
        .limit(limit)
    )
    return list(session.exec(query))


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    desk: DeskDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    text = q.strip()
    if not text:
        return page(request, "search.html", desk, q="", incidents=[], parcels=[], more=False)
    rows = incident_queries.list_incidents(
        session,
        tenant_id=desk.user.tenant_id,
        filters=incident_queries.IncidentFilters(q=text),
        now=desk.now,
        after=None,
        limit=LIMIT + 1,
    )
    parcels = parcels_without_incident(session, tenant_id=desk.user.tenant_id, q=text, limit=LIMIT)
    if len(rows) == 1 and not parcels:
        return RedirectResponse(f"/desk/incidents/{rows[0][0].id}", status_code=303)
    return page(
        request,
        "search.html",
        desk,
        q=text,
        incidents=[incident_view(i, p, now=desk.now) for i, p in rows[:LIMIT]],
        parcels=parcels,
        tracking_urls={p.id: tracking_url_of(p) for p in parcels},
        more=len(rows) > LIMIT,
    )
