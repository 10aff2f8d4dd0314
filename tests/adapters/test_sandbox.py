"""The sandbox carrier: each scenario's story, told only up to ``now``, the same every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from adapters.base import CarrierUnavailable, ScanStatus, TrackingQuery, TrackingResult
from adapters.sandbox import JOURNEYS, SandboxAdapter, journey, scenario_of

S = ScanStatus
SHIPPED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
START = [S.INFO_RECEIVED, S.ACCEPTED, S.IN_TRANSIT]  # 0 h, 5 h, 20 h
TO_DESTINATION = [S.IN_TRANSIT, S.IN_TRANSIT]  # 44 h, 70 h
SCENARIOS = [
    "DELIVERED",
    "INTRANSIT",
    "STALLED",
    "CUSTOMS",
    "FAILED",
    "RETURNED",
    "EXCEPTION",
    "LOST",
    "NOTFOUND",
    "OUTAGE",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def at(scenario: str, hours: float, suffix: str = "0001") -> TrackingResult:
    """The scenario's result ``hours`` after shipping (checkpoints sit an hour off any step,
    clear of the per-number jitter of under 47 minutes)."""
    query = TrackingQuery(number=f"SANDBOX-{scenario}-{suffix}", shipped_at=SHIPPED)
    return journey(query, SHIPPED + timedelta(hours=hours))


def statuses(result: TrackingResult) -> list[ScanStatus]:
    return [scan.status for scan in result.scans]


def test_every_documented_scenario_has_a_journey() -> None:
    assert sorted(JOURNEYS) == sorted(SCENARIOS)


@pytest.mark.parametrize(
    ("scenario", "hours", "expected"),
    [
        ("DELIVERED", 1, [S.INFO_RECEIVED]),
        ("DELIVERED", 10, [S.INFO_RECEIVED, S.ACCEPTED]),
        ("DELIVERED", 100, [*START, *TO_DESTINATION, S.IN_TRANSIT]),
        (
            "DELIVERED",
            142,
            [*START, *TO_DESTINATION, S.IN_TRANSIT, S.IN_TRANSIT, S.OUT_FOR_DELIVERY],
        ),
        (
            "DELIVERED",
            500,
            [*START, *TO_DESTINATION, *[S.IN_TRANSIT] * 2, S.OUT_FOR_DELIVERY, S.DELIVERED],
        ),
        ("INTRANSIT", 30, START),
        ("INTRANSIT", 24 * 10 + 21, [*START, *[S.IN_TRANSIT] * 10]),
        ("STALLED", 30, START),
        ("STALLED", 24 * 60, [*START, S.IN_TRANSIT]),
        ("CUSTOMS", 72, [*START, *TO_DESTINATION]),
        ("CUSTOMS", 24 * 30, [*START, *TO_DESTINATION, S.CUSTOMS_HOLD]),
        ("FAILED", 130, [*START, *TO_DESTINATION, S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT]),
        (
            "FAILED",
            24 * 30,
            [
                *START,
                *TO_DESTINATION,
                S.OUT_FOR_DELIVERY,
                S.FAILED_ATTEMPT,
                S.AVAILABLE_FOR_PICKUP,
            ],
        ),
        ("RETURNED", 130, [*START, *TO_DESTINATION, S.OUT_FOR_DELIVERY, S.EXCEPTION]),
        (
            "RETURNED",
            24 * 30,
            [*START, *TO_DESTINATION, S.OUT_FOR_DELIVERY, S.EXCEPTION, S.RETURNED_TO_SENDER],
        ),
        ("EXCEPTION", 80, [*START, *TO_DESTINATION]),
        ("EXCEPTION", 24 * 30, [*START, *TO_DESTINATION, S.EXCEPTION]),
        ("LOST", 24 * 20, [*START, S.IN_TRANSIT]),
        ("LOST", 24 * 30, [*START, S.IN_TRANSIT, S.EXCEPTION]),
    ],
)
def test_scenario_shows_its_documented_statuses_by_then(
    scenario: str, hours: float, expected: list[ScanStatus]
) -> None:
    result = at(scenario, hours)
    now = SHIPPED + timedelta(hours=hours)
    assert result.outcome == "found"
    assert statuses(result) == expected
    assert all(scan.occurred_at <= now for scan in result.scans)


def test_nothing_has_happened_before_the_parcel_ships() -> None:
    result = at("DELIVERED", -1)
    assert (result.outcome, result.scans) == ("found", ())


@pytest.mark.parametrize("hours", [-1, 0, 200, 24 * 365])
def test_notfound_is_never_found(hours: float) -> None:
    assert at("NOTFOUND", hours) == TrackingResult.not_found("SANDBOX-NOTFOUND-0001")


def test_intransit_is_never_quiet_for_more_than_a_day() -> None:
    now = SHIPPED + timedelta(days=40)
    times = [scan.occurred_at for scan in at("INTRANSIT", 24 * 40).scans]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert max(gaps) <= timedelta(hours=24)
    assert now - times[-1] <= timedelta(hours=24)


def test_stalled_goes_silent_after_departing_the_export_hub() -> None:
    week, month = at("STALLED", 24 * 7), at("STALLED", 24 * 30)
    assert week == month
    assert week.scans[-1].description == "[sandbox] Departed export hub on flight"


def test_customs_hold_is_a_carrier_delay_at_the_destination() -> None:
    query = TrackingQuery(
        number="SANDBOX-CUSTOMS-0001", shipped_at=SHIPPED, destination_country="de"
    )
    hold = journey(query, SHIPPED + timedelta(days=10)).scans[-1]
    assert hold.status is S.CUSTOMS_HOLD
    assert hold.carrier_delay is True
    assert hold.exception_reason == "Customs inspection"
    assert hold.location.country == "DE"


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("FAILED", "Recipient not available"),
        ("RETURNED", "Refused by recipient"),
        ("EXCEPTION", "Damaged"),
        ("LOST", "Lost in transit"),
    ],
)
def test_problem_scans_carry_their_reason(scenario: str, reason: str) -> None:
    reasons = [scan.exception_reason for scan in at(scenario, 24 * 30).scans]
    assert reason in reasons


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s not in {"NOTFOUND", "OUTAGE"}])
def test_scans_are_utc_sandbox_marked_and_origin_then_destination(scenario: str) -> None:
    result = at(scenario, 24 * 30)
    assert result.scans
    for scan in result.scans:
        assert scan.occurred_at.utcoffset() == timedelta(0)
        assert scan.description.startswith("[sandbox] ")
        assert scan.raw_timestamp == scan.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert scan.raw_code == f"SBX-{scan.status.value.upper()}"
    assert result.scans[0].location.country == "CN"


def test_times_are_utc_even_when_the_ship_time_has_another_offset() -> None:
    shanghai = SHIPPED.astimezone(timezone(timedelta(hours=8)))
    query = TrackingQuery(number="SANDBOX-DELIVERED-0001", shipped_at=shanghai)
    local = journey(query, SHIPPED + timedelta(days=30))
    reference = at("DELIVERED", 24 * 30)
    assert [s.occurred_at for s in local.scans] == [s.occurred_at for s in reference.scans]
    assert all(s.occurred_at.tzinfo == UTC for s in local.scans)


def test_same_number_gives_the_same_journey_and_jitter_stays_under_47_minutes() -> None:
    first, again = at("DELIVERED", 300, "ABC"), at("DELIVERED", 300, "ABC")
    assert first == again
    offsets = {at("DELIVERED", 300, str(n)).scans[0].occurred_at - SHIPPED for n in range(40)}
    assert all(timedelta(0) <= offset < timedelta(minutes=47) for offset in offsets)
    assert len(offsets) > 1  # parcels of one batch do not move in lockstep


def test_journey_starts_at_shipping_else_at_registration() -> None:
    registered = SHIPPED - timedelta(days=2)
    now = SHIPPED + timedelta(hours=6)
    both = TrackingQuery("SANDBOX-DELIVERED-1", registered_at=registered, shipped_at=SHIPPED)
    only_registered = TrackingQuery("SANDBOX-DELIVERED-1", registered_at=registered)
    assert statuses(journey(both, now)) == [S.INFO_RECEIVED, S.ACCEPTED]
    assert statuses(journey(only_registered, now)) == [*START, S.IN_TRANSIT]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_matches_every_scenario_number(scenario: str) -> None:
    adapter = SandboxAdapter()
    assert adapter.matches(f"SANDBOX-{scenario}-x")
    assert adapter.matches(f" SANDBOX-{scenario}-0001 ")
    assert scenario_of(f"SANDBOX-{scenario}-x") == scenario


@pytest.mark.parametrize(
    "number",
    [
        "SANDBOX-TELEPORTED-1",  # no such scenario
        "SANDBOX-delivered-1",  # scenarios are upper case
        "SANDBOX-DELIVERED-",  # no suffix
        "SANDBOX-DELIVERED",
        "SANDBOX-DELIVERED-1/2",
        "1Z999AA10123456784",  # UPS
        "5784652101",  # DHL Express
        "794829135608",  # FedEx
        "LX228174608CN",  # China Post
        "",
    ],
)
def test_refuses_unknown_scenarios_and_other_carriers_numbers(number: str) -> None:
    assert not SandboxAdapter().matches(number)
    assert scenario_of(number) is None


@pytest.mark.anyio
async def test_fetch_answers_each_query_in_order_and_records_success() -> None:
    now = SHIPPED + timedelta(days=30)
    adapter = SandboxAdapter(clock=lambda: now)
    queries = [
        TrackingQuery("SANDBOX-DELIVERED-1", shipped_at=SHIPPED),
        TrackingQuery("SANDBOX-NOTFOUND-1", shipped_at=SHIPPED),
        TrackingQuery("SANDBOX-STALLED-1", shipped_at=SHIPPED),
    ]
    results = await adapter.fetch(queries)
    assert [(r.tracking_number, r.outcome) for r in results] == [
        ("SANDBOX-DELIVERED-1", "found"),
        ("SANDBOX-NOTFOUND-1", "not_found"),
        ("SANDBOX-STALLED-1", "found"),
    ]
    assert results[0].scans[-1].status is S.DELIVERED
    assert adapter.health().last_success_at == now
    assert adapter.configured


@pytest.mark.anyio
async def test_outage_fails_the_whole_call_and_shows_in_health() -> None:
    now = SHIPPED + timedelta(days=1)
    adapter = SandboxAdapter(clock=lambda: now)
    queries = [TrackingQuery("SANDBOX-DELIVERED-1"), TrackingQuery("SANDBOX-OUTAGE-1")]
    with pytest.raises(CarrierUnavailable, match="outage"):
        await adapter.fetch(queries)
    health = adapter.health()
    assert (health.last_error, health.last_error_at) == ("sandbox outage", now)
    assert health.last_success_at is None
