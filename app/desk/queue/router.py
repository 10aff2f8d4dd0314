"""``/desk/``: the queue. Needs someone now first, then the chosen view, filtered, in pages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.api.deps import SessionDep
from app.api.pages import PageTokenQuery, keyset_page
from app.api.request_unit import UnitOfWorkRoute
from app.carriers.service import carrier_codes
from app.core.errors import ValidationFailed
from app.desk.queue import query as queue
from app.desk.queue.views import SAVED_VIEWS, VIEWS, end_of_day, start_of_week
from app.desk.web.auth import DeskDep
from app.desk.web.render import page
from app.incidents.schemas import IncidentType
from app.incidents.views import incident_view

router = APIRouter(route_class=UnitOfWorkRoute)
ViewKey = Literal[
    "open",
    "mine",
    "unassigned",
    "awaiting_carrier",
    "awaiting_customer",
    "escalated",
    "resolved_week",
]
INCIDENT_TYPES: tuple[str, ...] = IncidentType.__args__  # type: ignore[attr-defined]
PAGE_SIZE = 50


def _country(raw: str | None) -> str | None:
    value = (raw or "").strip().upper()
    if not value:
        return None
    if len(value) != 2 or not value.isalpha():
        raise ValidationFailed("destination_country", "two letters, such as DE or ES")
    return value


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    desk: DeskDep,
    session: SessionDep,
    view: ViewKey = "open",
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    destination_country: Annotated[str | None, Query(max_length=2)] = None,
    page_token: PageTokenQuery = None,
) -> HTMLResponse:
    chosen = VIEWS[view]
    if type and type not in INCIDENT_TYPES:
        raise ValidationFailed("type", f"choose from {list(INCIDENT_TYPES)}")
    filters = queue.QueueFilters(
        statuses=chosen.statuses,
        resolved_since=start_of_week(desk.now, desk.zone) if chosen.resolved_this_week else None,
        carrier=carrier or None,
        type=type or None,
        destination_country=_country(destination_country),
        assignee_id=desk.user.id if chosen.owner == "me" else None,
        unassigned=chosen.owner == "nobody",
    )
    tenant_id = desk.user.tenant_id
    listing = keyset_page(
        desk.settings,
        filters=filters.as_dict(),
        page_size=PAGE_SIZE,
        page_token=page_token,
        fetch=lambda after, limit: queue.queue_page(
            session, tenant_id=tenant_id, filters=filters, after=after, limit=limit
        ),
        position=lambda row: (row[0].opened_at, row[0].id),
        view=lambda row: incident_view(row[0], row[1], now=desk.now),
    )
    due = queue.due_before(
        session, tenant_id=tenant_id, filters=filters, until=end_of_day(desk.now, desk.zone)
    )
    untouched = queue.untouched_automatic(session, tenant_id=tenant_id, filters=filters)
    # the supervisor's part (supervisors and admins): escalations without an owner, approvals
    unowned = (
        queue.escalated_unowned(session, tenant_id=tenant_id, filters=filters)
        if desk.may_approve
        else None
    )
    approvals = (
        queue.approvals_waiting(session, tenant_id=tenant_id, filters=filters)
        if desk.may_approve
        else None
    )
    waiting = (
        [(proposal, incident_view(i, p, now=desk.now)) for proposal, i, p in approvals.rows]
        if approvals is not None
        else None
    )
    return page(
        request,
        "queue.html",
        desk,
        active="queue",
        views=SAVED_VIEWS,
        view=chosen,
        filters=filters,
        carriers=carrier_codes(),
        incident_types=INCIDENT_TYPES,
        listing=listing,
        due=[incident_view(i, p, now=desk.now) for i, p in due.rows],
        due_more=due.more,
        untouched=[incident_view(i, p, now=desk.now) for i, p in untouched.rows],
        untouched_more=untouched.more,
        unowned=[incident_view(i, p, now=desk.now) for i, p in unowned.rows] if unowned else [],
        unowned_more=unowned.more if unowned is not None else 0,
        approvals=waiting,
        approvals_more=approvals.more if approvals is not None else 0,
    )
