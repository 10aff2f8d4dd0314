"""GET /v1/metrics/summary against a month of incidents whose numbers are worked out by hand.

The month (March 2026, tenant acme), parcel by parcel:

- P0 ups CN->DE, registered 20 Feb: O1 customer delay opened 25 Feb, resolved 2 Mar reshipped
  (5 days), refund 30 EUR: counts as resolved in March, not as opened.
- P1 ups CN->DE: A1 automatic delay opened 3 Mar 10:00, still open; C1 customer delay
  reported 4 Mar 10:00 (A1 open: 24 h lead), answered 12:00 (2 h), resolved 6 Mar 10:00
  refunded (2 days), refund 59.90 EUR, root cause carrier_delay.
- P2 ups CN->DE: A2 automatic delay 5 Mar, resolved delivered 6 Mar (1 day); C2 customer
  delay reported 7 Mar 00:00 (A2 already resolved: no lead), opened and answered 01:00 (1 h),
  partial refund 10 EUR, carrier_delay.
- P3 ups CN->US: C3 customer damaged 8 Mar, answered after 4 h, reshipment, packaging, next
  step due 5 Apr (not overdue on 1 Apr).
- P4 dhl CN->DE: A3 automatic customs 9 Mar 12:00, contacted 13:00 (1 h), customs_inspection;
  C4 customer lost reported 10 Mar 00:00 (A3 open: 12 h lead), refund 25.50 USD,
  lost_by_carrier.
- P5 dhl DE->DE: nothing happened.
- globex has its own incident in March, which acme never sees.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, insert
from sqlmodel import Session

from app.core.actors import Actor
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.db.types import UTCDateTime
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.incidents.schemas import NextStep
from app.parcels import service as parcels
from app.parcels.models import Parcel
from app.parcels.schemas import ParcelCreate
from app.reporting import summary
from tests.factories import ApiClient, FakeClock

WINDOW = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


def at(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _parcel(
    session: Session, tenant: str, number: str, carrier: str, lane: str, registered: datetime
) -> Parcel:
    origin, destination = lane.split("-")
    return parcels.register_parcel(
        session,
        tenant_id=ensure_tenant(session, slug=tenant).id,
        data=ParcelCreate(
            order_id=f"SO-{number}",
            tracking_number=number,
            origin_country=origin,
            destination_country=destination,
        ),
        carrier=carrier,
        now=registered,
    )


def _incident(
    session: Session,
    parcel: Parcel,
    kind: str,
    source: str,
    opened: datetime,
    *,
    reported: datetime | None = None,
    due: datetime | None = None,
    **values: Any,
) -> Incident:
    incident = incidents.open_incident(
        session,
        parcel=parcel,
        type=kind,
        source=source,
        actor=Actor.system(),
        now=opened,
        next_step=NextStep(action="Look into it", due_at=due or opened + timedelta(hours=24)),
        customer_reported_at=reported or (opened if source == "customer" else None),
        detected_at=opened if source == "auto" else None,
    )
    if values:
        incidents.save(session, incident, incident.version, values, opened)
    return incident


def _resolved(day: datetime, resolution: str) -> dict[str, Any]:
    return {"status": "resolved", "resolution": resolution, "resolved_at": day}


def _refund(kind: str, amount: str | None, currency: str | None) -> dict[str, Any]:
    return {
        "compensation_kind": kind,
        "compensation_amount": Decimal(amount) if amount else None,
        "compensation_currency": currency,
    }


@pytest.fixture
def march(db: Database, api: ApiClient, clock: FakeClock) -> None:
    clock.now = at(1, month=4)
    with db.session() as s:
        p0 = _parcel(s, "acme", "TEST0000", "ups", "CN-DE", at(20, month=2))
        p1 = _parcel(s, "acme", "TEST0001", "ups", "CN-DE", at(2))
        p2 = _parcel(s, "acme", "TEST0002", "ups", "CN-DE", at(2))
        p3 = _parcel(s, "acme", "TEST0003", "ups", "CN-US", at(3))
        p4 = _parcel(s, "acme", "TEST0004", "dhl", "CN-DE", at(4))
        _parcel(s, "acme", "TEST0005", "dhl", "DE-DE", at(5))
        theirs = _parcel(s, "globex", "TEST0009", "ups", "CN-DE", at(2))
        _incident(s, theirs, "delay", "customer", at(3), root_cause="weather")
        _incident(
            s, p0, "delay", "customer", at(25, month=2),
            **_resolved(at(2), "reshipped"), **_refund("refund", "30", "EUR"),
        )  # fmt: skip
        _incident(s, p1, "delay", "auto", at(3, 10))
        _incident(
            s, p1, "delay", "customer", at(4, 10), first_response_at=at(4, 12),
            root_cause="carrier_delay", **_resolved(at(6, 10), "refunded"),
            **_refund("refund", "59.90", "EUR"),
        )  # fmt: skip
        _incident(s, p2, "delay", "auto", at(5), **_resolved(at(6), "delivered"))
        _incident(
            s, p2, "delay", "customer", at(7, 1), reported=at(7), first_response_at=at(7, 1),
            root_cause="carrier_delay", **_refund("partial_refund", "10", "EUR"),
        )  # fmt: skip
        _incident(
            s, p3, "damaged", "customer", at(8), due=at(5, month=4), first_response_at=at(8, 4),
            root_cause="packaging", **_refund("reshipment", None, None),
        )  # fmt: skip
        _incident(
            s, p4, "customs", "auto", at(9, 12), first_response_at=at(9, 13),
            root_cause="customs_inspection",
        )  # fmt: skip
        _incident(
            s, p4, "lost", "customer", at(10), root_cause="lost_by_carrier",
            **_refund("refund", "25.50", "USD"),
        )  # fmt: skip
        s.commit()


def _lane(origin: str, destination: str, **counts: float) -> dict[str, Any]:
    return {"origin_country": origin, "destination_country": destination, **counts}


def _summary(api: ApiClient, **params: str) -> dict[str, Any]:
    response = api.get("/v1/metrics/summary", params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("march")
def test_the_month_adds_up_to_the_hand_computed_numbers(api: ApiClient) -> None:
    body = _summary(api)

    assert (body["from"], body["to"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert body["incidents"] == {
        "opened": 7,
        "opened_by_type": {"customs": 1, "damaged": 1, "delay": 4, "lost": 1},
        "opened_by_source": {"auto": 3, "customer": 4},
        "resolved": 3,
        "resolved_by_resolution": {"delivered": 1, "refunded": 1, "reshipped": 1},
    }
    assert body["detection"] == {
        "customer_reports": 4,
        "detected_first": 2,
        "detected_first_rate": 0.5,
        "lead_time": {"count": 2, "median_seconds": 64800.0, "p90_seconds": 82080.0},
        "automatic_opened": 3,
    }
    assert body["first_response"] == {"count": 4, "median_seconds": 5400.0, "p90_seconds": 12240.0}
    assert body["resolution_time"] == {
        "count": 3,
        "median_seconds": 172800.0,
        "p90_seconds": 380160.0,
    }
    assert body["overdue_next_steps"] == 4
    assert body["stuck_by_carrier"] == [
        {"carrier": "ups", "parcels": 3, "stuck": 2, "rate": 0.6667},
        {"carrier": "dhl", "parcels": 2, "stuck": 1, "rate": 0.5},
    ]
    assert body["stuck_by_lane"] == [
        {
            "origin_country": "CN",
            "destination_country": "DE",
            "parcels": 3,
            "stuck": 3,
            "rate": 1.0,
        },
        {
            "origin_country": "CN",
            "destination_country": "US",
            "parcels": 1,
            "stuck": 0,
            "rate": 0.0,
        },
        {
            "origin_country": "DE",
            "destination_country": "DE",
            "parcels": 1,
            "stuck": 0,
            "rate": 0.0,
        },
    ]
    assert body["top_root_causes"] == [
        {"root_cause": "carrier_delay", "incidents": 2, "share": 0.4},
        {"root_cause": "customs_inspection", "incidents": 1, "share": 0.2},
        {"root_cause": "lost_by_carrier", "incidents": 1, "share": 0.2},
        {"root_cause": "packaging", "incidents": 1, "share": 0.2},
    ]
    assert body["compensation"] == [
        {"kind": "partial_refund", "currency": "EUR", "incidents": 1, "amount": "10.00"},
        {"kind": "refund", "currency": "EUR", "incidents": 1, "amount": "59.90"},
        {"kind": "refund", "currency": "USD", "incidents": 1, "amount": "25.50"},
        {"kind": "reshipment", "currency": None, "incidents": 1, "amount": "0"},
    ]
    assert body["claims"]["filed"] == body["claims"]["won"] == body["claims"]["paid"] == 0


@pytest.mark.usefixtures("march")
def test_carrier_and_destination_filters_go_through_the_parcel(api: ApiClient) -> None:
    dhl = _summary(api, carrier="dhl")
    us = _summary(api, destination_country="us")

    assert dhl["incidents"]["opened_by_type"] == {"customs": 1, "lost": 1}
    assert dhl["detection"]["customer_reports"] == dhl["detection"]["detected_first"] == 1
    assert dhl["detection"]["lead_time"]["median_seconds"] == 43200.0
    assert dhl["overdue_next_steps"] == 2
    assert [r["carrier"] for r in dhl["stuck_by_carrier"]] == ["dhl"]
    assert us["destination_country"] == "US"
    assert us["incidents"]["opened"] == 1
    assert us["top_root_causes"] == [{"root_cause": "packaging", "incidents": 1, "share": 1.0}]
    assert us["stuck_by_lane"] == [_lane("CN", "US", parcels=1, stuck=0, rate=0.0)]


@pytest.mark.usefixtures("march")
def test_a_window_without_incidents_reports_zeros_not_errors(api: ApiClient) -> None:
    body = _summary(api, **{"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"})

    assert body["incidents"]["opened"] == 0
    assert body["detection"]["detected_first_rate"] is None
    assert body["first_response"] == {"count": 0, "median_seconds": None, "p90_seconds": None}
    assert body["stuck_by_carrier"] == []
    assert body["overdue_next_steps"] == 4  # a point-in-time figure, whatever the window


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from"),
        ({"from": "2024-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from"),
        ({"carrier": "hermes"}, "carrier"),
        ({"from": "2026-03-01T00:00:00"}, "from"),  # no offset
    ],
)
def test_a_bad_window_or_filter_is_a_problem_naming_the_field(
    api: ApiClient, params: dict[str, str], field: str
) -> None:
    response = api.get("/v1/metrics/summary", params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_claims_are_counted_from_a_claims_table_when_there_is_one(db: Database) -> None:
    with db.session() as session:
        ours = ensure_tenant(session, slug="acme").id
        theirs = ensure_tenant(session, slug="globex").id
        session.commit()
    claims = Table(
        "summary_test_claims",
        MetaData(),
        Column("tenant_id", Uuid),
        Column("status", String(24)),
        Column("filed_at", UTCDateTime),
        Column("created_at", DateTime),
    )
    claims.create(db.engine)
    try:
        rows = [
            (ours, "filed", at(3)),
            (ours, "approved", at(4)),
            (ours, "partially_approved", at(5)),
            (ours, "paid", at(6)),
            (ours, "rejected", at(7)),
            (ours, "draft", None),
            (ours, "paid", at(20, month=2)),  # filed before the window
            (theirs, "paid", at(8)),
        ]
        with db.session() as session:
            session.execute(
                insert(claims),
                [{"tenant_id": t, "status": s, "filed_at": f} for t, s, f in rows],
            )
            counts = summary.carrier_claims_counts(
                session,
                tenant_id=ours,
                window=summary.SummaryWindow(start=at(1), end=at(1, month=4)),
                table=claims,
            )
    finally:
        claims.drop(db.engine)

    assert counts.model_dump() == {"available": True, "filed": 5, "won": 3, "paid": 1}


def test_without_a_claims_table_claims_are_zero_and_marked_unavailable(db: Database) -> None:
    bare = Table("not_claims", MetaData(), Column("id", String))
    with db.session() as session:
        counts = summary.carrier_claims_counts(
            session,
            tenant_id=ensure_tenant(session, slug="acme").id,
            window=summary.SummaryWindow(start=at(1), end=at(2)),
            table=bare,
        )

    assert counts.model_dump() == {"available": False, "filed": 0, "won": 0, "paid": 0}


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([1.0, 3.0], 0.5, 2.0),
        ([3600.0, 3600.0, 7200.0, 14400.0], 0.9, 12240.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 0.5, 3.0),
    ],
)
def test_percentiles_interpolate_between_ranks(
    values: list[float], q: float, expected: float | None
) -> None:
    assert summary.percentile(values, q) == expected
