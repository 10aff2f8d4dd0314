"""Listing incidents: filters the tracker spreadsheet needs, newest first, keyset pages."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.incidents.models import Incident
from app.parcels.models import Parcel


@dataclass(frozen=True, slots=True)
class IncidentFilters:
    status: str | None = None
    type: str | None = None
    carrier: str | None = None
    source: str | None = None
    overdue: bool | None = None
    opened_after: datetime | None = None
    opened_before: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_incidents(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    filters: IncidentFilters,
    now: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Incident, Parcel]]:
    query = (
        select(Incident, Parcel)
        .join(Parcel, Parcel.id == Incident.parcel_id)  # type: ignore[arg-type]
        .where(Incident.tenant_id == tenant_id)
    )
    if filters.status:
        query = query.where(Incident.status == filters.status)
    if filters.type:
        query = query.where(Incident.type == filters.type)
    if filters.source:
        query = query.where(Incident.source == filters.source)
    if filters.carrier:
        query = query.where(Parcel.carrier == filters.carrier)
    if filters.opened_after:
        query = query.where(col(Incident.opened_at) >= filters.opened_after)
    if filters.opened_before:
        query = query.where(col(Incident.opened_at) < filters.opened_before)
    if filters.overdue is not None:
        due = col(Incident.next_step_due_at)
        overdue = and_(col(Incident.status) != "resolved", due < now)
        on_time = or_(col(Incident.status) == "resolved", due.is_(None), due >= now)
        query = query.where(overdue if filters.overdue else on_time)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                col(Incident.opened_at) < at,
                and_(col(Incident.opened_at) == at, col(Incident.id) < last_id),
            )
        )
    query = query.order_by(col(Incident.opened_at).desc(), col(Incident.id).desc()).limit(limit)
    return [(incident, parcel) for incident, parcel in session.exec(query)]
