"""Listing incidents: filters the tracker spreadsheet needs, newest first, keyset pages.

Every filter is bound into the page token (``as_dict``), so a token reused with other filters
is refused rather than continuing another list.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from app.incidents.models import Incident
from app.incidents.search import contains_text, equals_ignoring_case
from app.parcels.models import Parcel
from app.people.models import User

UNASSIGNED = "none"


@dataclass(frozen=True, slots=True)
class IncidentFilters:
    """Empty tuples and ``None`` do not filter; several values of one filter are alternatives."""

    status: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    carrier: tuple[str, ...] = ()
    source: str | None = None
    overdue: bool | None = None
    opened_after: datetime | None = None
    opened_before: datetime | None = None
    order_id: str | None = None
    tracking_number: str | None = None
    customer_email: str | None = None
    parcel_id: uuid.UUID | None = None
    q: str | None = None
    assignee: str | None = None  # "none" (nobody owns it) or the owner's lower-cased e-mail

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def filter_conditions(
    filters: IncidentFilters, *, tenant_id: uuid.UUID, now: datetime
) -> Iterator[ColumnElement[bool]]:
    """One condition per filter given, over the incident joined to its parcel."""
    yield col(Incident.tenant_id) == tenant_id
    if filters.status:
        yield col(Incident.status).in_(filters.status)
    if filters.type:
        yield col(Incident.type).in_(filters.type)
    if filters.source:
        yield col(Incident.source) == filters.source
    if filters.carrier:
        yield col(Parcel.carrier).in_(filters.carrier)
    if filters.order_id:
        yield col(Parcel.order_id) == filters.order_id
    if filters.tracking_number:
        yield col(Parcel.tracking_number) == filters.tracking_number
    if filters.customer_email:
        yield equals_ignoring_case(col(Parcel.customer_email), filters.customer_email)
    if filters.parcel_id:
        yield col(Incident.parcel_id) == filters.parcel_id
    if filters.q:
        yield contains_text(filters.q, tenant_id=tenant_id)
    if filters.assignee == UNASSIGNED:
        yield col(Incident.assignee_id).is_(None)
    elif filters.assignee:
        owners = select(User.id).where(User.tenant_id == tenant_id, User.email == filters.assignee)
        yield col(Incident.assignee_id).in_(owners)
    if filters.opened_after:
        yield col(Incident.opened_at) >= filters.opened_after
    if filters.opened_before:
        yield col(Incident.opened_at) < filters.opened_before
    if filters.overdue is not None:
        due = col(Incident.next_step_due_at)
        overdue = and_(col(Incident.status) != "resolved", due < now)
        on_time = or_(col(Incident.status) == "resolved", due.is_(None), due >= now)
        yield overdue if filters.overdue else on_time


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
        .where(*filter_conditions(filters, tenant_id=tenant_id, now=now))
    )
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                col(Incident.opened_at) < at,
                and_(col(Incident.opened_at) == at, col(Incident.id) < last_id),
            )
        )
    query = query.order_by(col(Incident.opened_at).desc(), col(Incident.id).desc()).limit(limit)
    query = query.options(selectinload(Incident.assignee))  # type: ignore[arg-type]
    return [(incident, parcel) for incident, parcel in session.exec(query)]
