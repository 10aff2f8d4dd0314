"""The queue's reads: the sections that need someone now, and the filtered list with pages.

The list orders and pages as the API's incident list does (newest opened first, keyset on
``(opened_at, id)``, tokens from ``app.api.pages``), and takes the desk's own filters the API
list has no parameter for: destination country and "resolved since". The sections are small
and bounded (``SECTION_LIMIT``), each answered from an index: the partial index on open
incidents' deadlines, the status index, the proposals' incident index.

The owner views (mine, unassigned) filter on ``assignee_id`` as the API's ``assignee=``
parameter does; escalated incidents nobody owns are a section of their own, for supervisors:
the overdue job escalates and asks for an owner but never picks one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlmodel import Session, col, select

from app.incidents.models import CompensationProposal, Incident, TimelineEntry
from app.incidents.process import PENDING
from app.incidents.timeline import SYSTEM
from app.parcels.models import Parcel

SECTION_LIMIT = 25


@dataclass(frozen=True, slots=True)
class QueueFilters:
    statuses: tuple[str, ...] = ()
    resolved_since: datetime | None = None
    carrier: str | None = None
    type: str | None = None
    destination_country: str | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def owner(self) -> Iterator[ColumnElement[bool]]:
        """The owner a view asks for (mine, nobody's); the sections ignore it, as statuses."""
        if self.assignee_id is not None:
            yield col(Incident.assignee_id) == self.assignee_id
        if self.unassigned:
            yield col(Incident.assignee_id).is_(None)

    def narrowing(self) -> Iterator[ColumnElement[bool]]:
        """The filters a person chose (carrier, type, destination), for every section too."""
        if self.carrier:
            yield col(Parcel.carrier) == self.carrier
        if self.type:
            yield col(Incident.type) == self.type
        if self.destination_country:
            yield col(Parcel.destination_country) == self.destination_country


def _rows(tenant_id: uuid.UUID) -> Any:
    return (
        select(Incident, Parcel)
        .join(Parcel, col(Parcel.id) == col(Incident.parcel_id))
        .where(col(Incident.tenant_id) == tenant_id)
    )


def queue_page(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    filters: QueueFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Incident, Parcel]]:
    query = _rows(tenant_id).where(*filters.narrowing(), *filters.owner())
    if filters.statuses:
        query = query.where(col(Incident.status).in_(filters.statuses))
    if filters.resolved_since is not None:
        query = query.where(col(Incident.resolved_at) >= filters.resolved_since)
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


@dataclass(frozen=True, slots=True)
class Section:
    rows: list[Any]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def _section(session: Session, query: Any, count: Any) -> Section:
    rows = list(session.exec(query.limit(SECTION_LIMIT)))
    total = len(rows) if len(rows) < SECTION_LIMIT else int(session.exec(count).one())
    return Section(rows=rows, total=total)


def due_before(
    session: Session, *, tenant_id: uuid.UUID, filters: QueueFilters, until: datetime
) -> Section:
    """Unresolved incidents whose next step is overdue or due before ``until`` (end of today)."""
    conditions = [
        col(Incident.status) != "resolved",
        col(Incident.next_step_due_at) < until,
        *filters.narrowing(),
    ]
    query = _rows(tenant_id).where(*conditions).order_by(col(Incident.next_step_due_at))
    count = _count(tenant_id).where(*conditions)
    return _section(session, query, count)


def _touched_by_someone() -> ColumnElement[bool]:
    """A timeline entry after the opening one, written by anyone but the service itself."""
    return exists().where(
        col(TimelineEntry.incident_id) == col(Incident.id),
        col(TimelineEntry.seq) > 1,
        col(TimelineEntry.actor_type) != SYSTEM.type,
    )


def untouched_automatic(
    session: Session, *, tenant_id: uuid.UUID, filters: QueueFilters
) -> Section:
    """Incidents detection opened that are still open and nobody has acted on."""
    conditions = [
        col(Incident.source) == "auto",
        col(Incident.status) == "open",
        ~_touched_by_someone(),
        *filters.narrowing(),
    ]
    query = _rows(tenant_id).where(*conditions).order_by(col(Incident.opened_at))
    count = _count(tenant_id).where(*conditions)
    return _section(session, query, count)


def escalated_unowned(session: Session, *, tenant_id: uuid.UUID, filters: QueueFilters) -> Section:
    """Escalated incidents nobody owns, the longest untouched first."""
    conditions = [
        col(Incident.status) == "escalated",
        col(Incident.assignee_id).is_(None),
        *filters.narrowing(),
    ]
    query = _rows(tenant_id).where(*conditions).order_by(col(Incident.updated_at))
    count = _count(tenant_id).where(*conditions)
    return _section(session, query, count)


def approvals_waiting(session: Session, *, tenant_id: uuid.UUID, filters: QueueFilters) -> Section:
    """Compensation proposals waiting for a supervisor, oldest first."""
    conditions = [
        col(CompensationProposal.tenant_id) == tenant_id,
        col(CompensationProposal.status) == PENDING,
        *filters.narrowing(),
    ]
    query = (
        select(CompensationProposal, Incident, Parcel)
        .join(Incident, col(Incident.id) == col(CompensationProposal.incident_id))
        .join(Parcel, col(Parcel.id) == col(Incident.parcel_id))
        .where(*conditions)
        .order_by(col(CompensationProposal.created_at))
    )
    count = (
        select(func.count())
        .select_from(CompensationProposal)
        .join(Incident, col(Incident.id) == col(CompensationProposal.incident_id))
        .join(Parcel, col(Parcel.id) == col(Incident.parcel_id))
        .where(*conditions)
    )
    return _section(session, query, count)


def _count(tenant_id: uuid.UUID) -> Any:
    return (
        select(func.count())
        .select_from(Incident)
        .join(Parcel, col(Parcel.id) == col(Incident.parcel_id))
        .where(col(Incident.tenant_id) == tenant_id)
    )
