"""A tenant's patterns over a window: what went wrong, how fast we answered, which carriers
and lanes get stuck, what it cost. Read by ``GET /v1/metrics/summary``.

Two cohorts, named in every field's description: incidents *opened* in ``[from, to)`` (counts
by type and source, detection lead time, first response, root causes, compensation) and
incidents *resolved* in it (resolutions, time to resolution). Stuck rates are over parcels
*registered* in the window. ``carrier`` and ``destination_country`` filter through the parcel.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, case, exists
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from app.incidents.models import Incident
from app.parcels.models import Parcel
from app.reporting.schemas import (
    ClaimCounts,
    CompensationTotal,
    DetectionLead,
    DurationStats,
    IncidentCounts,
    RootCauseCount,
    StuckRateByCarrier,
    StuckRateByLane,
    SummaryRead,
)
from app.workflow.claims.models import CarrierClaim

TOP_ROOT_CAUSES = 10
CLAIM_FILED = ("filed", "approved", "partially_approved", "rejected", "paid")
CLAIM_WON = ("approved", "partially_approved", "paid")


@dataclass(frozen=True, slots=True)
class SummaryWindow:
    start: datetime
    end: datetime
    carrier: str | None = None
    destination_country: str | None = None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (Excel's PERCENTILE.INC); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def duration_stats(seconds: Sequence[float]) -> DurationStats:
    return DurationStats(
        count=len(seconds),
        median_seconds=percentile(seconds, 0.5),
        p90_seconds=percentile(seconds, 0.9),
    )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _scoped(query: Any, tenant_id: uuid.UUID, window: SummaryWindow) -> Any:
    """Restrict an incidents query to the tenant and the parcel filters."""
    query = query.join(Parcel, col(Parcel.id) == col(Incident.parcel_id)).where(
        col(Incident.tenant_id) == tenant_id
    )
    if window.carrier:
        query = query.where(col(Parcel.carrier) == window.carrier)
    if window.destination_country:
        query = query.where(col(Parcel.destination_country) == window.destination_country)
    return query


def _in_window(column: Any, window: SummaryWindow) -> Any:
    return and_(column >= window.start, column < window.end)


def build_summary(
    session: Session, *, tenant_id: uuid.UUID, window: SummaryWindow, now: datetime
) -> SummaryRead:
    opened = session.exec(
        _scoped(select(Incident), tenant_id, window).where(
            _in_window(col(Incident.opened_at), window)
        )
    ).all()
    resolved = session.exec(
        _scoped(select(Incident), tenant_id, window).where(
            col(Incident.status) == "resolved", _in_window(col(Incident.resolved_at), window)
        )
    ).all()
    overdue = session.exec(
        _scoped(select(func.count()).select_from(Incident), tenant_id, window).where(
            col(Incident.status) != "resolved", col(Incident.next_step_due_at) < now
        )
    ).one()
    by_carrier, by_lane = stuck_rates(session, tenant_id=tenant_id, window=window)
    return SummaryRead(
        from_=window.start,
        to=window.end,
        carrier=window.carrier,
        destination_country=window.destination_country,
        generated_at=now,
        incidents=IncidentCounts(
            opened=len(opened),
            opened_by_type=dict(sorted(Counter(i.type for i in opened).items())),
            opened_by_source=dict(sorted(Counter(i.source for i in opened).items())),
            resolved=len(resolved),
            resolved_by_resolution=dict(
                sorted(Counter(i.resolution or "unknown" for i in resolved).items())
            ),
        ),
        detection=detection_lead(session, opened),
        first_response=duration_stats(
            [
                (i.first_response_at - (i.customer_reported_at or i.opened_at)).total_seconds()
                for i in opened
                if i.first_response_at is not None
            ]
        ),
        resolution_time=duration_stats(
            [(i.resolved_at - i.opened_at).total_seconds() for i in resolved if i.resolved_at]
        ),
        overdue_next_steps=int(overdue),
        stuck_by_carrier=by_carrier,
        stuck_by_lane=by_lane,
        top_root_causes=root_causes(opened),
        compensation=compensation_totals(opened),
        claims=carrier_claims_counts(session, tenant_id=tenant_id, window=window),
    )


def detection_lead(session: Session, opened: Sequence[Incident]) -> DetectionLead:
    """Customer reports that found an automatic incident already open on their parcel."""
    reports = [i for i in opened if i.source == "customer"]
    automatic: dict[uuid.UUID, list[Incident]] = defaultdict(list)
    if reports:
        for incident in session.exec(
            select(Incident).where(
                col(Incident.source) == "auto",
                col(Incident.parcel_id).in_({i.parcel_id for i in reports}),
            )
        ):
            automatic[incident.parcel_id].append(incident)
    leads: list[float] = []
    for report in reports:
        reported_at = report.customer_reported_at or report.opened_at
        open_then = [
            auto
            for auto in automatic.get(report.parcel_id, [])
            if auto.opened_at <= reported_at
            and (auto.resolved_at is None or auto.resolved_at > reported_at)
        ]
        if open_then:
            first = min(open_then, key=lambda auto: auto.opened_at)
            leads.append((reported_at - first.opened_at).total_seconds())
    return DetectionLead(
        customer_reports=len(reports),
        detected_first=len(leads),
        detected_first_rate=round(len(leads) / len(reports), 4) if reports else None,
        lead_time=duration_stats(leads),
        automatic_opened=sum(1 for i in opened if i.source == "auto"),
    )


def stuck_rates(
    session: Session, *, tenant_id: uuid.UUID, window: SummaryWindow
) -> tuple[list[StuckRateByCarrier], list[StuckRateByLane]]:
    """Parcels registered in the window, and how many detection ever found stuck."""
    was_stuck = exists().where(
        col(Incident.parcel_id) == col(Parcel.id), col(Incident.source) == "auto"
    )
    query = (
        sa_select(
            col(Parcel.carrier),
            col(Parcel.origin_country),
            col(Parcel.destination_country),
            func.count(),
            func.sum(case((was_stuck, 1), else_=0)),
        )
        .where(col(Parcel.tenant_id) == tenant_id, _in_window(col(Parcel.created_at), window))
        .group_by(col(Parcel.carrier), col(Parcel.origin_country), col(Parcel.destination_country))
    )
    if window.carrier:
        query = query.where(col(Parcel.carrier) == window.carrier)
    if window.destination_country:
        query = query.where(col(Parcel.destination_country) == window.destination_country)
    carriers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    lanes: dict[tuple[str | None, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for carrier, origin, destination, parcels, stuck in session.execute(query):
        for bucket in (carriers[carrier], lanes[(origin, destination)]):
            bucket[0] += int(parcels)
            bucket[1] += int(stuck or 0)
    by_carrier = [
        StuckRateByCarrier(carrier=c, parcels=n, stuck=s, rate=_rate(s, n))
        for c, (n, s) in carriers.items()
    ]
    by_lane = [
        StuckRateByLane(
            origin_country=o, destination_country=d, parcels=n, stuck=s, rate=_rate(s, n)
        )
        for (o, d), (n, s) in lanes.items()
    ]
    by_carrier.sort(key=lambda r: (-r.rate, -r.parcels, r.carrier))
    by_lane.sort(
        key=lambda r: (-r.rate, -r.parcels, r.origin_country or "", r.destination_country or "")
    )
    return by_carrier, by_lane


def root_causes(opened: Sequence[Incident]) -> list[RootCauseCount]:
    counts = Counter(i.root_cause for i in opened if i.root_cause)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_ROOT_CAUSES]
    return [RootCauseCount(root_cause=c, incidents=n, share=_rate(n, total)) for c, n in ranked]


def compensation_totals(opened: Sequence[Incident]) -> list[CompensationTotal]:
    """Refunds, reshipments, discounts ... given, per kind and currency."""
    totals: dict[tuple[str, str | None], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for incident in opened:
        if not incident.compensation_kind:
            continue
        bucket = totals[(incident.compensation_kind, incident.compensation_currency)]
        bucket[0] += 1
        bucket[1] += incident.compensation_amount or Decimal(0)
    return [
        CompensationTotal(kind=kind, currency=currency, incidents=n, amount=amount)
        for (kind, currency), (n, amount) in sorted(
            totals.items(), key=lambda item: (item[0][0], item[0][1] or "")
        )
    ]


def carrier_claims_counts(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    window: SummaryWindow,
    table: Table | None = None,
) -> ClaimCounts:
    """Claims filed, won and paid in the window, from the ``carrier_claims`` table.

    ``table`` is for a table without the columns this needs (then zeros, ``available=False``).
    It reads ``tenant_id``,
    ``status`` (draft, filed, approved, partially_approved, rejected, paid) and ``filed_at``
    (else ``created_at``) for the window; ``incident_id`` when present, for the filters.
    """
    table = table if table is not None else CarrierClaim.__table__  # type: ignore[attr-defined]
    unavailable = ClaimCounts(available=False, filed=0, won=0, paid=0)
    if table is None or not {"tenant_id", "status"} <= set(table.c.keys()):
        return unavailable
    when = table.c.get("filed_at") if "filed_at" in table.c else table.c.get("created_at")
    status = table.c["status"]
    query = sa_select(
        func.count(case((status.in_(CLAIM_FILED), 1))),
        func.count(case((status.in_(CLAIM_WON), 1))),
        func.count(case((status == "paid", 1))),
    ).where(table.c["tenant_id"] == tenant_id)
    if when is not None:
        query = query.where(_in_window(when, window))
    if (window.carrier or window.destination_country) and "incident_id" in table.c:
        query = query.join(Incident, col(Incident.id) == table.c["incident_id"]).join(
            Parcel, col(Parcel.id) == col(Incident.parcel_id)
        )
        if window.carrier:
            query = query.where(col(Parcel.carrier) == window.carrier)
        if window.destination_country:
            query = query.where(col(Parcel.destination_country) == window.destination_country)
    filed, won, paid = session.execute(query).one()
    return ClaimCounts(available=True, filed=int(filed), won=int(won), paid=int(paid))
