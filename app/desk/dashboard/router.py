"""``/desk/dashboard``: the summary ``GET /v1/metrics/summary`` answers, drawn, with figures.

The window is the API's default (the last 30 days); "open incidents by age" is counted here,
now, since the summary covers a window and not the open backlog.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.desk.dashboard.charts import BarChart, bars, duration_chart, percent
from app.desk.web.auth import DeskDep
from app.desk.web.render import page
from app.incidents.models import Incident
from app.reporting import summary
from app.reporting.router import DEFAULT_WINDOW

router = APIRouter(route_class=UnitOfWorkRoute)
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 1 day", timedelta(days=1)),
    ("1-3 days", timedelta(days=3)),
    ("3-7 days", timedelta(days=7)),
    ("7-14 days", timedelta(days=14)),
    ("14 days or more", None),
)


def open_by_age(session: Session, *, tenant_id: uuid.UUID, now: datetime) -> list[int]:
    """Unresolved incidents per age bucket, in one pass over the tenant's open incidents."""
    columns = []
    lower: timedelta | None = timedelta(0)
    for _, upper in AGE_BUCKETS:
        opened = col(Incident.opened_at)
        condition = opened <= now - (lower or timedelta(0))
        if upper is not None:
            condition = condition & (opened > now - upper)
        columns.append(func.coalesce(func.sum(case((condition, 1), else_=0)), 0))
        lower = upper
    row = session.exec(
        select(*columns).where(
            col(Incident.tenant_id) == tenant_id, col(Incident.status) != "resolved"
        )
    ).one()
    return [int(value) for value in row]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    desk: DeskDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=366)] = DEFAULT_WINDOW.days,
) -> HTMLResponse:
    window = summary.SummaryWindow(
        start=desk.now - timedelta(days=days), end=desk.now, carrier=None, destination_country=None
    )
    report = summary.build_summary(
        session, tenant_id=desk.user.tenant_id, window=window, now=desk.now
    )
    by_carrier = BarChart(
        "Stuck rate by carrier",
        bars([(s.carrier, s.rate, percent(s.rate)) for s in report.stuck_by_carrier]),
        ("carrier", "parcels", "stuck", "rate"),
        tuple(
            (s.carrier, str(s.parcels), str(s.stuck), percent(s.rate))
            for s in report.stuck_by_carrier
        ),
    )
    lanes = [
        (f"{s.origin_country or '?'} → {s.destination_country or '?'}", s)
        for s in report.stuck_by_lane
    ]
    by_lane = BarChart(
        "Stuck rate by lane",
        bars([(name, s.rate, percent(s.rate)) for name, s in lanes]),
        ("lane", "parcels", "stuck", "rate"),
        tuple((name, str(s.parcels), str(s.stuck), percent(s.rate)) for name, s in lanes),
    )
    ages = open_by_age(session, tenant_id=desk.user.tenant_id, now=desk.now)
    by_age = BarChart(
        "Open incidents by age",
        bars([(label, n, str(n)) for (label, _), n in zip(AGE_BUCKETS, ages, strict=True)]),
        ("age", "incidents"),
        tuple((label, str(n)) for (label, _), n in zip(AGE_BUCKETS, ages, strict=True)),
    )
    detection = report.detection
    lead = duration_chart("Detection lead time", {"lead": detection.lead_time})
    responses = duration_chart(
        "Time to first response and to resolution",
        {"response": report.first_response, "resolution": report.resolution_time},
    )
    return page(
        request,
        "dashboard.html",
        desk,
        active="dashboard",
        days=days,
        report=report,
        detected_first=percent(detection.detected_first_rate),
        charts=(by_carrier, by_lane, by_age, lead, responses),
    )
