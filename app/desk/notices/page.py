"""``/desk/notices/{id}``: one notice as ``GET /v1/notices/{id}`` reads it (its filter,
template, counts and progress, counted from its messages' delivery now), and its messages,
50 a page, optionally only those in one delivery state (``?delivery=failed``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import SessionDep
from app.api.pages import PageTokenQuery, keyset_page
from app.api.request_unit import UnitOfWorkRoute
from app.desk.notices.forms import FILTER_LABELS
from app.desk.notices.messages import notice_messages
from app.desk.web.auth import DeskDep
from app.desk.web.render import local_time, page
from app.notify.notices import views

router = APIRouter(prefix="/notices", route_class=UnitOfWorkRoute)
PAGE_SIZE = 50
Delivery = Literal["queued", "sent", "failed", "not_sent"]


def filter_lines(criteria: dict[str, Any], zone: ZoneInfo) -> list[tuple[str, str]]:
    """The stored filter (``NoticeFilter`` as JSON) as the form's labels and readable values."""
    lines = []
    for name, label in FILTER_LABELS.items():
        value = criteria.get(name)
        if value is None:
            continue
        if name == "stuck":
            text = "yes" if value else "no"
        elif name in ("shipped_after", "shipped_before"):
            text = local_time(datetime.fromisoformat(str(value)), zone)
        elif name == "parcel_ids":
            text = f"{len(value)} parcels named"
        else:
            text = str(value).replace("_", " ")
        lines.append((label, text))
    return lines


@router.get("/{notice_id}", response_class=HTMLResponse)
def notice_page(
    notice_id: uuid.UUID,
    request: Request,
    desk: DeskDep,
    session: SessionDep,
    delivery: Delivery | None = None,
    page_token: PageTokenQuery = None,
) -> HTMLResponse:
    notice = views.read_notice(session, tenant_id=desk.user.tenant_id, notice_id=notice_id)
    listing = keyset_page(
        desk.settings,
        filters={"notice": str(notice.id), "delivery": delivery},
        page_size=PAGE_SIZE,
        page_token=page_token,
        fetch=lambda after, limit: notice_messages(
            session, notice_id=notice.id, delivery=delivery, after=after, limit=limit
        ),
        position=lambda row: (row[1].created_at, row[1].id),
        view=lambda row: row,
    )
    progress = notice.progress
    return page(
        request,
        "notice.html",
        desk,
        active="notices",
        notice=notice,
        criteria=filter_lines(notice.filter, desk.zone),
        done=progress.sent + progress.failed + progress.not_sent,
        total=progress.queued + progress.sent + progress.failed + progress.not_sent,
        delivery=delivery,
        listing=listing,
    )
