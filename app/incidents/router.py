"""Incidents: the resolution tracker as an API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from sqlmodel import Session

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SessionDep, SettingsDep
from app.api.idempotency.marking import pending_claim
from app.api.one_thread import OneThreadRoute, run_in_one_thread
from app.api.pages import (
    PageSizeQuery,
    PageTokenQuery,
    keyset_page,
)
from app.api.request_unit import open_request_unit
from app.carriers import service as carriers
from app.core.actors import Actor
from app.core.errors import PreconditionFailed, PreconditionRequired, ValidationFailed
from app.core.schemas import Page, UtcDatetime
from app.core.settings import Settings
from app.core.tenancy import Principal
from app.incidents import assignment, timeline
from app.incidents import queries as incident_queries
from app.incidents import service as incidents
from app.incidents.models import Incident, TimelineEntry
from app.incidents.opening import IncidentOpener
from app.incidents.reading import IncidentReader
from app.incidents.schemas import (
    ActionCreate,
    IncidentCreate,
    IncidentListQuery,
    IncidentRead,
    IncidentSource,
    IncidentUpdate,
    NextStep,
    TimelineEntryRead,
    TimelineRead,
    TimelineScanRead,
    TimelineVerifyRead,
    TransitionCreate,
)
from app.incidents.views import incident_view
from app.parcels import service as parcels
from app.parcels.models import Parcel
from app.parcels.schemas import ParcelCreate

router = APIRouter(prefix="/v1/incidents", tags=["incidents"], route_class=OneThreadRoute)


def _answer(response: Response, incident: Incident, parcel: Parcel, now: datetime) -> IncidentRead:
    response.headers["ETag"] = incidents.etag(incident)
    return incident_view(incident, parcel, now=now)


def _parcel_for(
    session: Session, body: IncidentCreate, tenant_id: uuid.UUID, now: datetime
) -> Parcel:
    if body.parcel_id is not None:
        return parcels.get_parcel(session, tenant_id=tenant_id, parcel_id=body.parcel_id)
    assert body.tracking_number is not None
    assert body.order_id is not None
    carrier = carriers.resolve_carrier(body.carrier, body.tracking_number)
    parcel = parcels.find_parcel(
        session, tenant_id=tenant_id, carrier=carrier, tracking_number=body.tracking_number
    )
    if parcel is None:
        data = ParcelCreate(
            order_id=body.order_id,
            order_date=body.order_date,
            tracking_number=body.tracking_number,
            carrier=carrier,
            customer=body.customer,
            origin_country=body.origin_country,
            destination_country=body.destination_country,
        )
        # another request may register it at the same moment: then its parcel is ours too
        parcel = parcels.find_or_register_parcel(
            session, tenant_id=tenant_id, data=data, carrier=carrier, now=now
        )
    if parcel.order_id != body.order_id:
        raise ValidationFailed(
            "order_id", f"tracking number {body.tracking_number} belongs to another order"
        )
    return parcel


# A storefront calls this for every complaint: for a parcel given by id, on PostgreSQL, the rows
# are written on the loop without the ORM (``app.incidents.opening``); otherwise, or when that
# path hands the work back, through the ORM in the request's one worker thread, as before.
@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentRead)
async def open_incident(
    body: IncidentCreate, principal: IncidentsWriteDep, request: Request, response: Response
) -> IncidentRead:
    """Open an incident for a parcel (registering the parcel when it is new to us)."""
    settings: Settings = request.app.state.settings
    now: datetime = request.app.state.clock()
    opener: IncidentOpener = request.app.state.incident_opener
    if opener.can_open(body) and pending_claim(request) is None:
        opened = await opener.open(
            tenant_id=principal.tenant_id,
            body=body,
            actor=Actor.api_key(principal),
            now=now,
            next_step=_next_step(body, settings, now),
            reported=_reported(body, now),
        )
        if opened is not None:
            response.headers["Location"] = f"/v1/incidents/{opened.incident.id}"
            response.headers["ETag"] = incidents.etag(opened.incident)
            return opened.view
    session = open_request_unit(request.app.state.db.new_session(), request, response)
    answer: IncidentRead = await run_in_one_thread(
        _open_in_session,
        {
            "body": body,
            "principal": principal,
            "session": session,
            "settings": settings,
            "now": now,
            "response": response,
        },
    )
    return answer


def _next_step(body: IncidentCreate, settings: Settings, now: datetime) -> NextStep:
    return body.next_step or incidents.default_next_step(
        source=body.source, now=now, hours=settings.default_next_step_hours
    )


def _reported(body: IncidentCreate, now: datetime) -> datetime | None:
    return body.customer_reported_at or (now if body.source == "customer" else None)


def _open_in_session(
    body: IncidentCreate,
    principal: Principal,
    session: Session,
    settings: Settings,
    now: datetime,
    response: Response,
) -> IncidentRead:
    """The incident through the ORM, registering its parcel when it is new (blocking)."""
    parcel = _parcel_for(session, body, principal.tenant_id, now)
    incident = incidents.open_incident(
        session,
        parcel=parcel,
        type=body.type,
        source=body.source,
        actor=Actor.api_key(principal),
        now=now,
        description=body.description,
        customer_reported_at=_reported(body, now),
        next_step=_next_step(body, settings, now),
    )
    response.headers["Location"] = f"/v1/incidents/{incident.id}"
    return _answer(response, incident, parcel, now)


@router.get("", response_model=Page[IncidentRead])
def list_incidents(
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    match: Annotated[IncidentListQuery, Query()],
    source: Annotated[IncidentSource | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    opened_after: Annotated[UtcDatetime | None, Query()] = None,
    opened_before: Annotated[UtcDatetime | None, Query()] = None,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[IncidentRead]:
    filters = match.filters(
        source=source,
        overdue=overdue,
        opened_after=opened_after,
        opened_before=opened_before,
    )
    return keyset_page(
        settings,
        filters=filters.as_dict(),
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: incident_queries.list_incidents(
            session,
            tenant_id=principal.tenant_id,
            filters=filters,
            now=now,
            after=after,
            limit=limit,
        ),
        position=lambda row: (row[0].opened_at, row[0].id),
        view=lambda row: incident_view(row[0], row[1], now=now),
    )


def _load(
    session: Session, tenant_id: uuid.UUID, incident_id: uuid.UUID, *, lock: bool = False
) -> tuple[Incident, Parcel]:
    return incidents.get_incident_with_parcel(
        session, tenant_id=tenant_id, incident_id=incident_id, lock=lock
    )


# A storefront polls this: on PostgreSQL it is one statement with no session or worker thread
# (``app.incidents.reading``), and the reader and the clock come off the app rather than
# through two more dependencies, each of which costs on every call.
@router.get("/{incident_id}", response_model=IncidentRead)
async def get_incident(
    incident_id: uuid.UUID, principal: ReadDep, request: Request, response: Response
) -> IncidentRead:
    reader: IncidentReader = request.app.state.incident_reader
    now = request.app.state.clock()
    view, etag = await reader.view(tenant_id=principal.tenant_id, incident_id=incident_id, now=now)
    response.headers["ETag"] = etag
    return view


def _expected_version(if_match: str | None, incident: Incident) -> int:
    """Strong If-Match comparison against our ETag; weak tags never match (RFC 9110)."""
    if not if_match:
        raise PreconditionRequired("PATCH needs If-Match with the ETag you last read")
    current = incidents.etag(incident)
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or current in tags:
        return incident.version
    raise PreconditionFailed(
        "the incident changed since you read it; GET it again and reapply your change",
        current_etag=current,
    )


@router.patch("/{incident_id}", response_model=IncidentRead)
def update_incident(
    incident_id: uuid.UUID,
    body: IncidentUpdate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> IncidentRead:
    """Edit fields under optimistic locking: stale If-Match -> 412, none -> 428.

    ``assignee`` (a user id or e-mail of your tenant; null unassigns) sets the owner: each
    change is a timeline entry and an ``incident.assigned`` event."""
    incident, parcel = _load(session, principal.tenant_id, incident_id)
    assignment.update_incident(
        session,
        incident=incident,
        expected_version=_expected_version(if_match, incident),
        patch=body,
        actor=Actor.api_key(principal),
        now=now,
    )
    return _answer(response, incident, parcel, now)


@router.post("/{incident_id}/transitions", response_model=IncidentRead)
def transition_incident(
    incident_id: uuid.UUID,
    body: TransitionCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
    response: Response,
) -> IncidentRead:
    """Move through open -> in_progress -> awaiting_* / escalated -> resolved (and reopen)."""
    incident, parcel = _load(session, principal.tenant_id, incident_id, lock=True)
    incidents.transition_incident(
        session, incident=incident, body=body, actor=Actor.api_key(principal), now=now
    )
    return _answer(response, incident, parcel, now)


@router.post(
    "/{incident_id}/actions", status_code=status.HTTP_201_CREATED, response_model=TimelineEntryRead
)
def log_action(
    incident_id: uuid.UUID,
    body: ActionCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> TimelineEntryRead:
    """Log an internal action (carrier contacted, refund issued, ...) on the timeline."""
    incident, _ = _load(session, principal.tenant_id, incident_id, lock=True)
    incidents.log_action(
        session, incident=incident, body=body, actor=Actor.api_key(principal), now=now
    )
    entry = timeline.entries_for(session, incident.id)[-1]
    return _entry_view(entry)


def _entry_view(entry: TimelineEntry) -> TimelineEntryRead:
    return TimelineEntryRead(
        at=entry.occurred_at,
        seq=entry.seq,
        kind=entry.kind,
        actor=entry.actor.view(),
        summary=entry.summary,
        data=timeline.decode_data(entry),
        recorded_at=entry.recorded_at,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


@router.get("/{incident_id}/timeline", response_model=TimelineRead)
def get_timeline(incident_id: uuid.UUID, principal: ReadDep, session: SessionDep) -> TimelineRead:
    """Every entry in order, merged with the parcel's tracking scans by time."""
    incident, parcel = _load(session, principal.tenant_id, incident_id)
    items: list[TimelineEntryRead | TimelineScanRead] = [
        _entry_view(e) for e in timeline.entries_for(session, incident.id)
    ]
    items += [
        TimelineScanRead(at=s.occurred_at, scan=parcels.scan_view(s))
        for s in parcels.scans_of(session, parcel.id)
    ]
    items.sort(key=lambda item: item.at)  # stable: entries keep their sequence order
    return TimelineRead(incident_id=incident.id, items=items)


@router.get("/{incident_id}/timeline/verify", response_model=TimelineVerifyRead)
def verify_timeline(
    incident_id: uuid.UUID, principal: ReadDep, session: SessionDep
) -> TimelineVerifyRead:
    """Recompute the hash chain: proof that no entry was altered, removed or reordered."""
    incident, _ = _load(session, principal.tenant_id, incident_id)
    verdict = timeline.verify_chain(timeline.entries_for(session, incident.id))
    return TimelineVerifyRead(
        incident_id=incident.id,
        valid=verdict.valid,
        entries=verdict.entries,
        head_hash=verdict.head_hash,
        first_broken_seq=verdict.first_broken_seq,
        reason=verdict.reason,
    )
