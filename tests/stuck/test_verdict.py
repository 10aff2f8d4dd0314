"""Stuck detection, table-driven: no database, no clock, exact deadlines.

Expected deadlines are counted by hand from the calendars (noted per case).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.base import Location, Scan, ScanStatus
from app.core.calendars import business_days_between, is_working_day
from app.stuck.verdict import ParcelFacts, StuckRule, facts_from_scans, judge

MINUTE = timedelta(minutes=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def facts(
    carrier: str, status: str, last_scan: str | None, country: str | None, **kw: str
) -> ParcelFacts:
    return ParcelFacts(
        carrier=carrier,
        status=ScanStatus(status),
        registered_at=utc(kw.pop("registered", "2026-03-01T00:00:00+00:00")),
        last_scan_at=utc(last_scan) if last_scan else None,
        last_scan_country=country if last_scan else None,
        origin_country=kw.pop("origin", None),
        destination_country=kw.pop("destination", None),
    )


# (case, facts, the instant it becomes stuck)
DEADLINES = [
    # DE, Mon 10:00 Berlin + 4 business days -> Fri 10:00 Berlin
    (
        "express in_transit, plain week",
        facts("ups", "in_transit", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-13T10:00:00+01:00",
    ),
    # Fri 15:00 + 4 business days, Sat/Sun not counted -> Thu 15:00
    (
        "weekend skipped",
        facts("dhl", "in_transit", "2026-03-13T15:00:00+01:00", "DE"),
        "2026-03-19T15:00:00+01:00",
    ),
    (
        "postal in_transit is 8 days",
        facts("china_post", "in_transit", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-19T10:00:00+01:00",
    ),
    (
        "express info_received 3",
        facts("fedex", "info_received", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-12T10:00:00+01:00",
    ),
    (
        "postal info_received 5",
        facts("ems", "info_received", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-16T10:00:00+01:00",
    ),
    (
        "express customs 3",
        facts("dhl", "customs_hold", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-12T10:00:00+01:00",
    ),
    (
        "postal customs 7",
        facts("ems", "customs_hold", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-18T10:00:00+01:00",
    ),
    (
        "out_for_delivery 2",
        facts("ups", "out_for_delivery", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-11T10:00:00+01:00",
    ),
    (
        "failed_attempt 3",
        facts("china_post", "failed_attempt", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-12T10:00:00+01:00",
    ),
    (
        "available_for_pickup 5",
        facts("ups", "available_for_pickup", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-16T10:00:00+01:00",
    ),
    (
        "unknown like in_transit",
        facts("ups", "unknown", "2026-03-09T10:00:00+01:00", "DE"),
        "2026-03-13T10:00:00+01:00",
    ),
    # Spring Festival 2026 in CN: Feb 16-20 and 23 off, Sat Feb 14 and Sat Feb 28 are working
    # days. From Thu Feb 12 10:00: 0.583 + Fri 13 + Sat 14 + Feb 24..28 (5) = 7.583 by Sat
    # night; Sun Mar 1 off; the remaining 0.417 day ends Mon Mar 2 10:00.
    (
        "Spring Festival week",
        facts("china_post", "in_transit", "2026-02-12T10:00:00+08:00", "CN"),
        "2026-03-02T10:00:00+08:00",
    ),
    # Thanksgiving (Thu Nov 26) is a US holiday, the Friday after is not: Wed 09:00 + 2 days
    # = 0.625 (Wed) + 1 (Fri) + 0.375 (Mon) -> Mon Nov 30 09:00 New York.
    (
        "US holiday",
        facts("fedex", "out_for_delivery", "2026-11-25T09:00:00-05:00", "US"),
        "2026-11-30T09:00:00-05:00",
    ),
    # 00:30 on Saturday in Tokyo is still Friday in UTC: the clock starts Monday 00:00 JST.
    (
        "time zone around midnight",
        facts("ups", "out_for_delivery", "2026-03-14T00:30:00+09:00", "JP"),
        "2026-03-18T00:00:00+09:00",
    ),
    # No scan at all: counted from registration, in the origin country.
    (
        "no scans",
        facts(
            "dhl", "info_received", None, None, registered="2026-03-09T02:00:00+00:00", origin="CN"
        ),
        "2026-03-12T10:00:00+08:00",
    ),
]


@pytest.mark.parametrize(("case", "parcel", "deadline"), DEADLINES, ids=[c[0] for c in DEADLINES])
def test_stuck_exactly_after_its_threshold(case: str, parcel: ParcelFacts, deadline: str) -> None:
    stuck_at = utc(deadline)

    before = judge(parcel, now=stuck_at - MINUTE)
    after = judge(parcel, now=stuck_at + MINUTE)

    assert before.stuck is False, case
    assert before.stuck_at == stuck_at, case
    assert after.stuck is True, case
    assert after.kind == "no_movement"
    assert after.threshold is not None
    assert after.elapsed_business_days == pytest.approx(after.threshold.business_days, abs=0.001)


def test_exception_is_stuck_at_once() -> None:
    verdict = judge(
        facts("ups", "exception", "2026-03-12T09:00:00+00:00", "US"),
        now=utc("2026-03-12T09:01:00+00:00"),
    )
    assert (verdict.stuck, verdict.kind) == (True, "exception")


@pytest.mark.parametrize("status", ["delivered", "cancelled"])
def test_finished_journeys_are_never_stuck(status: str) -> None:
    verdict = judge(
        facts("ups", status, "2025-01-01T00:00:00+00:00", "US"),
        now=utc("2026-03-12T00:00:00+00:00"),
    )
    assert verdict.stuck is False
    assert verdict.stuck_at is None


def test_presumed_lost_after_20_express_business_days() -> None:
    # Mon Jan 5 + 20 working days in DE (no holidays then) -> Mon Feb 2, same hour
    parcel = facts("ups", "in_transit", "2026-01-05T10:00:00+01:00", "DE")
    assert judge(parcel, now=utc("2026-02-02T09:59:00+01:00")).kind == "no_movement"
    lost = judge(parcel, now=utc("2026-02-02T10:01:00+01:00"))
    assert (lost.stuck, lost.kind) == (True, "presumed_lost")
    assert lost.lost_threshold is not None
    assert lost.lost_threshold.business_days == 20


def test_presumed_lost_after_30_postal_business_days() -> None:
    parcel = facts("ems", "in_transit", "2026-01-05T10:00:00+01:00", "DE")
    assert judge(parcel, now=utc("2026-02-13T11:00:00+01:00")).kind == "no_movement"
    assert judge(parcel, now=utc("2026-02-16T10:01:00+01:00")).kind == "presumed_lost"


def test_most_specific_tenant_rule_wins() -> None:
    parcel = facts("fedex", "in_transit", "2026-03-09T10:00:00+01:00", "DE", destination="US")
    rules = [
        StuckRule(business_days=6),
        StuckRule(business_days=5, carrier="fedex"),
        StuckRule(business_days=2, carrier="fedex", status="in_transit", destination_country="US"),
        StuckRule(business_days=1, carrier="fedex", status="in_transit", destination_country="MX"),
    ]
    verdict = judge(parcel, now=utc("2026-03-11T10:01:00+01:00"), rules=rules)
    assert verdict.stuck is True
    assert verdict.threshold is not None
    assert verdict.threshold.rule == "tenant rule carrier=fedex status=in_transit destination=US"
    without = judge(parcel, now=utc("2026-03-11T10:01:00+01:00"))
    assert without.threshold is not None
    assert (without.stuck, without.threshold.rule) == (False, "default express in_transit")


def test_out_of_order_scans_use_the_newest() -> None:
    def scan(status: ScanStatus, at: str) -> Scan:
        return Scan(
            status=status, occurred_at=utc(at), description="x", location=Location(country="DE")
        )

    parcel = facts_from_scans(
        carrier="ups",
        registered_at=utc("2026-03-01T00:00:00+00:00"),
        scans=[
            scan(ScanStatus.OUT_FOR_DELIVERY, "2026-03-10T08:00:00+01:00"),
            scan(ScanStatus.IN_TRANSIT, "2026-03-09T08:00:00+01:00"),
        ],
    )

    assert parcel.status == ScanStatus.OUT_FOR_DELIVERY
    assert judge(parcel, now=utc("2026-03-12T08:01:00+01:00")).stuck is True


def test_calendar_knows_make_up_working_days_and_unknown_countries() -> None:
    assert is_working_day("CN", datetime(2026, 2, 14).date())  # a Saturday worked in China
    assert not is_working_day("CN", datetime(2026, 2, 17).date())  # Spring Festival
    assert is_working_day(None, datetime(2026, 3, 13).date())
    assert not is_working_day("AQ", datetime(2026, 3, 14).date())  # no calendar: Mon-Fri
    assert (
        business_days_between(
            utc("2026-03-14T00:00:00+01:00"), utc("2026-03-16T00:00:00+01:00"), "DE"
        )
        == 0
    )
