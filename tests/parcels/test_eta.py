"""When a parcel should arrive: the maths (tables, no database), then the lane's history and the
defaults as a registered parcel gets them, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from adapters.base import DeliveryWindow
from app.core.calendars import add_business_days
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.parcels import service
from app.parcels.eta import (
    Estimate,
    business_days_until,
    choose,
    day_after_business_days,
    delay_business_days,
    history_span,
    percentile,
)
from app.parcels.eta_history import HISTORY_LIMIT, lane_transits
from app.parcels.models import Parcel
from app.parcels.schemas import ParcelCreate
from tests.factories import ApiClient, register_parcel

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)  # a Thursday, 10:30 in Berlin
DHL_NUMBER = "1234567891"  # a valid DHL Express air waybill (mod 7)

# ------------------------------------------------------------------------------ the maths


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4, 5], 0, 1),
        ([1, 2, 3, 4, 5], 50, 3),
        ([1, 2, 3, 4, 5], 100, 5),
        ([5, 1, 4, 2, 3], 20, 1.8),  # order does not matter; between 1 and 2
        ([2, 4], 80, 3.6),
        ([7.5], 20, 7.5),
    ],
)
def test_percentiles_interpolate_between_neighbours(
    values: list[float], p: float, expected: float
) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_a_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 20)


LANE = [3.0] * 5 + [4.0] * 10 + [5.0] * 5 + [6.0] * 5  # 25 deliveries, in business days


def test_a_lane_needs_twenty_deliveries_for_a_history() -> None:
    assert history_span(LANE[:19]) is None
    assert history_span(LANE[:20]) == pytest.approx((3.0, 5.0))
    assert history_span(LANE) == pytest.approx((3.8, 5.2))


@pytest.mark.parametrize(
    ("start", "days", "country", "expected"),
    [
        (NOW, 3, "DE", date(2026, 3, 17)),  # Fri, Mon, Tue
        (NOW, 7, "DE", date(2026, 3, 23)),  # over one weekend
        (NOW, 0.2, "DE", date(2026, 3, 12)),  # within the day it shipped
        (NOW, 0, "DE", date(2026, 3, 12)),
        # Wednesday before Easter: Good Friday and Easter Monday are German holidays...
        (datetime(2026, 4, 1, 8, 0, tzinfo=UTC), 3, "DE", date(2026, 4, 8)),
        # ...but not American ones (Good Friday is no federal holiday)
        (datetime(2026, 4, 1, 14, 0, tzinfo=UTC), 3, "US", date(2026, 4, 6)),
        # 3 business days from Monday midnight are over when Wednesday ends
        (datetime(2026, 3, 16, 0, 0, tzinfo=BERLIN), 3, "DE", date(2026, 3, 18)),
        (NOW, 3, None, date(2026, 3, 17)),  # unknown country: Monday to Friday, UTC
    ],
)
def test_business_days_run_out_on_a_local_day(
    start: datetime, days: float, country: str | None, expected: date
) -> None:
    assert day_after_business_days(start, days, country) == expected


CARRIER_WINDOW = DeliveryWindow(date(2026, 3, 16), date(2026, 3, 16), "deliveryDate SDD")


@pytest.mark.parametrize(
    ("window", "transits", "network", "expected"),
    [
        (
            CARRIER_WINDOW,
            LANE,
            "express",
            Estimate(date(2026, 3, 16), date(2026, 3, 16), "carrier"),
        ),
        # 3.8 and 5.2 business days from Thursday 10:30 in Berlin: Wednesday and Thursday
        (None, LANE, "express", Estimate(date(2026, 3, 18), date(2026, 3, 19), "history")),
        (None, LANE[:19], "express", Estimate(date(2026, 3, 17), date(2026, 3, 23), "default")),
        # 10 to 25 business days, Easter in Germany included
        (None, [], "postal", Estimate(date(2026, 3, 26), date(2026, 4, 20), "default")),
    ],
)
def test_the_carriers_window_then_the_lanes_history_then_the_default(
    window: DeliveryWindow | None, transits: list[float], network: str, expected: Estimate
) -> None:
    found = choose(
        carrier_window=window,
        transits=transits,
        network=network,  # type: ignore[arg-type]
        start=NOW,
        country="DE",
    )
    assert found == expected


@pytest.mark.parametrize(
    ("today", "day", "expected"),
    [
        (date(2026, 3, 12), date(2026, 3, 17), 3),  # Fri, Mon, Tue
        (date(2026, 3, 12), date(2026, 3, 12), 0),
        (date(2026, 3, 12), date(2026, 3, 1), 0),
        (date(2026, 4, 2), date(2026, 4, 7), 1),  # Good Friday, Easter Monday: only Tuesday
        (date(2026, 3, 12), date(2199, 1, 1), 254),  # a wild date: one year's working days
    ],
)
def test_business_days_until_a_day(today: date, day: date, expected: int) -> None:
    assert business_days_until(today, day, "DE") == expected


@pytest.mark.parametrize(
    ("estimate", "expected"),
    [
        (Estimate(date(2026, 3, 17), date(2026, 3, 19), "history"), (3, 5)),
        (Estimate(date(2026, 3, 13), date(2026, 3, 13), "carrier"), (1, 1)),
        (Estimate(date(2026, 3, 12), date(2026, 3, 12), "carrier"), (1, 1)),  # today: at least 1
        (Estimate(date(2026, 3, 2), date(2026, 3, 9), "default"), (1, 1)),  # already late
    ],
)
def test_a_possible_delay_counts_business_days_from_today(
    estimate: Estimate, expected: tuple[int, int]
) -> None:
    assert delay_business_days(date(2026, 3, 12), estimate, "DE") == expected


# ------------------------------------------------------------------------------ in the database


def _tenant(session: Session, slug: str) -> uuid.UUID:
    return ensure_tenant(session, slug=slug).id


def _deliveries(
    session: Session,
    tenant_id: uuid.UUID,
    transits: list[float],
    *,
    carrier: str = "dhl",
    lane: tuple[str, str] = ("CN", "DE"),
    delivered_on_or_after: datetime = datetime(2026, 2, 2, 9, 0, tzinfo=UTC),
) -> None:
    """Delivered parcels of a lane, each ``transit`` business days (in Germany) in transit."""
    for index, transit in enumerate(transits):
        shipped = delivered_on_or_after + timedelta(hours=index)
        session.add(
            Parcel(
                tenant_id=tenant_id,
                carrier=carrier,
                tracking_number=f"HIST{uuid.uuid4().hex[:12].upper()}",
                order_id=f"SO-{index:05d}",
                origin_country=lane[0],
                destination_country=lane[1],
                shipped_at=shipped,
                status="delivered",
                last_scan_status="delivered",
                last_scan_at=add_business_days(shipped, transit, lane[1]),
                created_at=shipped,
                updated_at=shipped,
            )
        )
    session.flush()


def _register(session: Session, tenant_id: uuid.UUID, **overrides: object) -> Parcel:
    values: dict[str, object] = {
        "order_id": "SO-77001",
        "tracking_number": DHL_NUMBER,
        "origin_country": "CN",
        "destination_country": "DE",
        "shipped_at": NOW,
    }
    values.update(overrides)
    carrier = str(values.pop("carrier", "dhl"))
    data = ParcelCreate.model_validate(values)
    return service.register_parcel(
        session, tenant_id=tenant_id, data=data, carrier=carrier, now=NOW
    )


def _window(parcel: Parcel) -> tuple[date | None, date | None, str | None]:
    return parcel.eta_earliest, parcel.eta_latest, parcel.eta_basis


def test_a_lane_with_twenty_deliveries_gives_its_window_to_a_new_parcel(db: Database) -> None:
    with db.session() as session:
        acme = _tenant(session, "acme")
        _deliveries(session, acme, LANE)

        parcel = _register(session, acme)

        assert _window(parcel) == (date(2026, 3, 18), date(2026, 3, 19), "history")
        view = service.parcel_view(parcel).estimated_delivery
        assert view is not None
        assert (view.earliest, view.latest, view.basis) == (
            date(2026, 3, 18),
            date(2026, 3, 19),
            "history",
        )


def test_other_tenants_carriers_and_lanes_do_not_count(db: Database) -> None:
    with db.session() as session:
        acme, globex = _tenant(session, "acme"), _tenant(session, "globex")
        _deliveries(session, globex, LANE)  # another tenant's parcels
        _deliveries(session, acme, LANE, carrier="ups")  # another carrier
        _deliveries(session, acme, LANE, lane=("CN", "FR"))  # another destination
        _deliveries(session, acme, LANE[:19])  # the lane itself: one short of twenty

        parcel = _register(session, acme)

        # express default: 3 to 7 business days from shipping
        assert _window(parcel) == (date(2026, 3, 17), date(2026, 3, 23), "default")


def test_postal_carriers_and_unknown_lanes_get_the_postal_default(db: Database) -> None:
    with db.session() as session:
        acme = _tenant(session, "acme")
        _deliveries(session, acme, LANE, carrier="china_post")

        unknown_origin = _register(
            session,
            acme,
            carrier="china_post",
            tracking_number="RB350192862CN",
            origin_country=None,
        )

        assert _window(unknown_origin) == (date(2026, 3, 26), date(2026, 4, 20), "default")


def test_without_a_shipping_date_the_window_counts_from_registration(db: Database) -> None:
    with db.session() as session:
        parcel = _register(session, _tenant(session, "acme"), shipped_at=None)

        assert parcel.shipped_at is None
        assert _window(parcel) == (date(2026, 3, 17), date(2026, 3, 23), "default")


def test_only_the_latest_deliveries_of_a_lane_are_read(db: Database) -> None:
    with db.session() as session:
        acme = _tenant(session, "acme")
        # twenty slow ones long ago, then twenty-five fast ones lately
        _deliveries(
            session, acme, [20.0] * 20, delivered_on_or_after=datetime(2025, 6, 2, tzinfo=UTC)
        )
        _deliveries(session, acme, [2.0] * 25)

        latest = lane_transits(session, (acme, "dhl", "CN", "DE"), limit=25)
        everything = lane_transits(session, (acme, "dhl", "CN", "DE"))

    assert latest == [pytest.approx(2.0)] * 25
    assert sorted(everything) == [pytest.approx(2.0)] * 25 + [pytest.approx(20.0)] * 20
    assert HISTORY_LIMIT == 500


def test_the_api_shows_the_estimate_and_null_without_one(api: ApiClient, db: Database) -> None:
    created = register_parcel(api, shipped_at="2026-03-12T09:30:00Z")

    shown = api.get(f"/v1/parcels/{created['id']}").json()

    # UPS is express: 3 to 7 business days in Germany from shipping
    expected = {"earliest": "2026-03-17", "latest": "2026-03-23", "basis": "default"}
    assert created["estimated_delivery"] == shown["estimated_delivery"] == expected
    with db.session() as session:
        parcel = session.get(Parcel, uuid.UUID(created["id"]))
        assert parcel is not None
        parcel.eta_earliest = parcel.eta_latest = parcel.eta_basis = None
        session.add(parcel)
        session.commit()
    assert api.get(f"/v1/parcels/{created['id']}").json()["estimated_delivery"] is None
