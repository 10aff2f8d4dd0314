"""UPS adapter: request building, parsing of real-shaped answers, fetch through a fake UPS."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import base
from adapters._http import NO_RETRY
from adapters.base import (
    CarrierAdapter,
    CarrierAuthError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    Location,
    ScanStatus,
    TrackingQuery,
)
from adapters.ups import (
    PRODUCTION_URL,
    UpsAdapter,
    UpsSettings,
    build_request,
    new_trans_id,
    parse_tracking,
    status_for,
)
from adapters.ups_parse import occurred_at, parse_activity

FIXTURES = Path(__file__).parent / "fixtures" / "ups"
T = TypeVar("T")
S = ScanStatus

DELIVERED = "1ZA8F4926604738614"
IN_TRANSIT = "1ZV17R866604128930"
CUSTOMS = "1Z6W0E896704315279"
EXCEPTION = "1ZR8Y2056606679417"
RETURNED = "1ZE3X7190406868128"
UNKNOWN = "1Z4F2A336604401882"
TOKEN_URL = "/security/v1/oauth/token"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def parse_one(name: str, number: str) -> base.TrackingResult:
    [result] = parse_tracking(load(name), [number])
    return result


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def configured(**overrides: Any) -> UpsSettings:
    # no pacing in tests: CarrierHttpClient would really sleep between calls
    values: dict[str, Any] = {
        "client_id": "rt-test-client-id",
        "client_secret": "s3cret",
        "requests_per_second": 0,
    }
    return UpsSettings(**(values | overrides))


# --- request building ---------------------------------------------------------------------


def test_tracking_request_carries_the_headers_and_query_ups_requires() -> None:
    request = build_request(" 1za8f4926604738614 ", token="tok", trans_id="a" * 32)

    assert request.path == f"/api/track/v1/details/{DELIVERED}"
    assert request.params == {
        "locale": "en_US",
        "returnSignature": "false",
        "returnMilestones": "false",
        "returnPOD": "false",
    }
    assert request.headers == {
        "Authorization": "Bearer tok",
        "transId": "a" * 32,
        "transactionSrc": "resolution-tracker",
    }


def test_tracking_request_escapes_what_cannot_be_a_path_segment() -> None:
    request = build_request("AB/../C?D", token="t", trans_id="x")
    assert request.path == "/api/track/v1/details/AB%2F..%2FC%3FD"


@pytest.mark.parametrize("trans_id", ["", "a" * 33])
def test_tracking_request_refuses_a_trans_id_ups_would_reject(trans_id: str) -> None:
    with pytest.raises(ValueError, match="transId"):
        build_request(DELIVERED, token="t", trans_id=trans_id)


def test_trans_ids_are_unique_and_fit_32_characters() -> None:
    ids = {new_trans_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 32 for i in ids)


# --- parsing: fixtures ----------------------------------------------------------------------


def test_delivered_parcel_reads_every_scan_in_utc_order() -> None:
    result = parse_one("track_delivered.json", DELIVERED)

    assert result.outcome == "found"
    assert [s.status for s in result.scans] == [
        S.INFO_RECEIVED,
        S.ACCEPTED,
        *[S.IN_TRANSIT] * 6,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    last = result.scans[-1]
    assert last.occurred_at == datetime(2025, 3, 11, 19, 22, 5, tzinfo=UTC)
    assert last.description == "DELIVERED"
    assert last.raw_text == "DELIVERED "
    assert last.raw_code == "D/011/FS"
    assert last.raw_timestamp == (
        "gmtDate=20250311 gmtTime=19:22:05 gmtOffset=-05:00 date=20250311 time=142205"
    )
    assert last.location == Location(city="CHICAGO", region="IL", postal_code="60614", country="US")
    assert last.exception_reason is None
    assert not any(s.carrier_delay for s in result.scans)


def test_gmt_fields_win_when_the_local_date_is_the_day_before() -> None:
    result = parse_one("track_delivered.json", DELIVERED)
    hodgkins = next(s for s in result.scans if s.location.city == "HODGKINS")
    # local 2025-03-10 20:33:48 at -05:00 is the next day in UTC
    assert hodgkins.occurred_at == datetime(2025, 3, 11, 1, 33, 48, tzinfo=UTC)
    assert hodgkins.occurred_at.tzinfo is UTC


def test_label_scan_has_only_a_country_and_customs_release_stays_in_transit() -> None:
    scans = parse_one("track_delivered.json", DELIVERED).scans
    assert scans[0].location == Location(country="CN")
    assert scans[0].raw_code == "M/003/MP"
    released = next(s for s in scans if s.raw_code == "I/014/SR")
    assert released.status is S.IN_TRANSIT
    assert released.description == "Your package was released by the customs agency."


def test_in_transit_parcel_keeps_the_delay_as_a_flag_not_a_status() -> None:
    result = parse_one("track_in_transit.json", IN_TRANSIT)

    assert result.scans[-1].status is S.IN_TRANSIT
    assert result.scans[-1].location == Location(city="Koeln", postal_code="51147", country="DE")
    assert result.scans[-1].occurred_at == datetime(2025, 2, 19, 11, 4, 37, tzinfo=UTC)
    [delay] = [s for s in result.scans if s.carrier_delay]
    assert delay.status is S.IN_TRANSIT  # type X, but statusCode 048 (Delay) is more specific
    assert delay.raw_code == "X/048/1V"
    assert delay.exception_reason == "Due to operating conditions, your package may be delayed."


def test_customs_hold_wins_over_the_exception_type_and_keeps_the_reason() -> None:
    scans = parse_one("track_customs_hold.json", CUSTOMS).scans

    assert [s.status for s in scans[-2:]] == [S.CUSTOMS_HOLD, S.CUSTOMS_HOLD]
    held = scans[-1]
    assert held.raw_code == "X/126/1U"
    assert held.exception_reason is not None
    assert held.exception_reason.startswith("Your package is pending release from a Government")
    assert held.location == Location(city="CASTLE DONINGTON", postal_code="DE74 2SA", country="GB")
    assert held.occurred_at == datetime(2025, 1, 23, 15, 27, 10, tzinfo=UTC)
    assert not held.carrier_delay


def test_damaged_parcel_is_an_exception_with_the_ups_reason() -> None:
    last = parse_one("track_exception.json", EXCEPTION).scans[-1]

    assert last.status is S.EXCEPTION
    assert last.raw_code == "X/059/45"
    assert last.exception_reason == (
        "Your package was damaged in transit. We will notify the sender with details."
    )
    assert last.occurred_at == datetime(2025, 4, 3, 15, 12, 30, tzinfo=UTC)
    assert last.location == Location(city="ONTARIO", region="CA", postal_code="91761", country="US")


def test_returned_parcel_shows_the_failed_attempts_then_the_return() -> None:
    scans = parse_one("track_returned.json", RETURNED).scans

    assert [s.status for s in scans[-4:]] == [
        S.OUT_FOR_DELIVERY,
        S.FAILED_ATTEMPT,
        S.FAILED_ATTEMPT,
        S.RETURNED_TO_SENDER,
    ]
    assert [s.raw_code for s in scans[-3:]] == ["X/022/48", "X/024/49", "X/035/RS"]
    assert scans[-3].exception_reason is not None
    assert scans[-3].exception_reason.startswith("The receiver was not available")
    assert scans[-1].location == Location(
        city="CONCORD", region="ON", postal_code="L4K 4V9", country="CA"
    )


def test_unknown_number_is_not_found_not_an_error() -> None:
    result = parse_one("track_not_found.json", UNKNOWN)
    assert result.outcome == "not_found"
    assert result.scans == ()


@pytest.mark.parametrize(
    "case", json.loads((FIXTURES / "cases.json").read_text()), ids=lambda c: c["file"]
)
def test_cases_file_agrees_with_the_parser(case: dict[str, Any]) -> None:
    results = parse_tracking(load(case["file"]), case["numbers"])
    assert [r.outcome for r in results] == case["outcomes"]
    last = results[0].scans[-1].status.value if results[0].scans else None
    assert last == case["last_status"]


def test_every_track_fixture_is_listed_in_cases() -> None:
    listed = {c["file"] for c in json.loads((FIXTURES / "cases.json").read_text())}
    assert listed == {p.name for p in FIXTURES.glob("track_*.json")}


# --- parsing: rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status_code", "expected", "delay"),
    [
        ("X", "012", S.CUSTOMS_HOLD, False),  # the specific code wins over the type
        ("I", "072", S.OUT_FOR_DELIVERY, False),
        ("D", "034", S.RETURNED_TO_SENDER, False),
        ("X", "049", S.EXCEPTION, True),
        ("I", "52", S.IN_TRANSIT, True),  # not zero-padded
        ("X", "999", S.EXCEPTION, False),  # unknown code: the type decides
        ("MV", None, S.CANCELLED, False),
        ("M", None, S.INFO_RECEIVED, False),
        ("P", None, S.ACCEPTED, False),
        ("RS", None, S.RETURNED_TO_SENDER, False),
    ],
)
def test_status_code_wins_over_type_when_both_are_known(
    kind: str, status_code: str | None, expected: ScanStatus, delay: bool
) -> None:
    assert status_for(kind, status_code, "raw", None) == (expected, delay)


def test_unmapped_code_is_unknown_and_counted() -> None:
    before = base.unmapped_codes[("ups", "Q/777/ZZ")]
    status, delay = status_for("Q", "777", "Q/777/ZZ", "Something new")
    assert (status, delay) == (S.UNKNOWN, False)
    assert base.unmapped_codes[("ups", "Q/777/ZZ")] == before + 1


def _activity(**fields: Any) -> dict[str, Any]:
    status = {"type": "I", "description": "Arrived at Facility", "code": "AR", "statusCode": "005"}
    return {"status": status, **fields}


def _at(city: str, state: str, country: str, postal_code: str = "") -> dict[str, Any]:
    """An activity's ``location`` as UPS sends it (empty strings for what it leaves out)."""
    address = {
        "city": city,
        "stateProvince": state,
        "postalCode": postal_code,
        "country": country,
        "countryCode": country,
    }
    return {"location": {"address": address}}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (  # the spec's example: not zero-padded
            {"gmtDate": "20210210", "gmtTime": "74700"},
            (datetime(2021, 2, 10, 7, 47, tzinfo=UTC), "offset"),
        ),
        (  # as seen in practice: with colons, and the legacy XML date
            {"gmtDate": "2024-03-26", "gmtTime": "15:58:00"},
            (datetime(2024, 3, 26, 15, 58, tzinfo=UTC), "offset"),
        ),
        (
            {"gmtDate": "20240326", "gmtTime": "155800"},
            (datetime(2024, 3, 26, 15, 58, tzinfo=UTC), "offset"),
        ),
        (  # the GMT fields are already UTC: gmtOffset is not applied to them again
            {
                "gmtDate": "20240326",
                "gmtTime": "15:58:00",
                "gmtOffset": "-04:00",
                "date": "20240326",
                "time": "115800",
            },
            (datetime(2024, 3, 26, 15, 58, tzinfo=UTC), "offset"),
        ),
        (  # no GMT fields (as the REST API once sent): local time shifted by the offset
            {"date": "20231130", "time": "164340", "gmtOffset": "-05:00"},
            (datetime(2023, 11, 30, 21, 43, 40, tzinfo=UTC), "offset"),
        ),
        (  # unreadable GMT fields fall back to local time too
            {
                "gmtDate": "n/a",
                "gmtTime": "",
                "date": "20240326",
                "time": "165800",
                "gmtOffset": "+01:00",
            },
            (datetime(2024, 3, 26, 15, 58, tzinfo=UTC), "offset"),
        ),
        (  # local time, no offset and no place at all: read as UTC
            {"date": "20231130", "time": "164340"},
            (datetime(2023, 11, 30, 16, 43, 40, tzinfo=UTC), "utc"),
        ),
        (  # local time in New Jersey without any GMT field: Eastern time (EST)
            {"date": "20231130", "time": "164340", **_at("SECAUCUS", "NJ", "US")},
            (datetime(2023, 11, 30, 21, 43, 40, tzinfo=UTC), "state"),
        ),
        (  # ... and in summer (EDT)
            {"date": "20240612", "time": "080500", **_at("PARSIPPANY", "NJ", "US")},
            (datetime(2024, 6, 12, 12, 5, tzinfo=UTC), "state"),
        ),
        (  # a ZIP code says more than the state: Kentucky spans two zones
            {"date": "20240612", "time": "080500", **_at("", "KY", "US", "42101")},
            (datetime(2024, 6, 12, 13, 5, tzinfo=UTC), "postal"),
        ),
        (  # a country with one offset
            {"date": "20240612", "time": "080500", **_at("KOELN", "", "DE")},
            (datetime(2024, 6, 12, 6, 5, tzinfo=UTC), "country"),
        ),
        ({"gmtDate": "20240231", "gmtTime": "10:00:00"}, None),  # 31 February
        ({"gmtDate": "20240326", "gmtTime": "25:00:00"}, None),
        ({"date": "00010101", "time": "000000", "gmtOffset": "+05:00"}, None),  # before year 1
        ({"date": "00010101", "time": "000000", **_at("", "", "JP")}, None),  # before year 1
        ({}, None),
    ],
)
def test_activity_time_is_utc_from_gmt_fields_else_local_placed_where_it_happened(
    fields: dict[str, Any], expected: tuple[datetime, str] | None
) -> None:
    assert occurred_at(_activity(**fields)) == expected


def test_local_time_with_no_place_uses_the_destination() -> None:
    activity = _activity(date="20240612", time="080500")
    destination = Location(city="WAYNE", region="NJ", country="US")

    assert occurred_at(activity, destination=destination) == (
        datetime(2024, 6, 12, 12, 5, tzinfo=UTC),
        "destination",
    )


NEW_JERSEY = "1ZW4X7396694175263"


def test_new_jersey_journey_without_gmt_fields_is_placed_in_local_zones() -> None:
    before = Counter(base.time_zone_guesses)
    result = parse_one("track_offset_less_new_jersey.json", NEW_JERSEY)
    placed = [(s.location.city, s.occurred_at) for s in result.scans]
    assert placed == [
        ("KOELN", datetime(2024, 6, 10, 16, 30, tzinfo=UTC)),  # gmtTime "16:30:00"
        ("KOELN", datetime(2024, 6, 10, 20, 45, tzinfo=UTC)),
        ("LOUISVILLE", datetime(2024, 6, 11, 5, 35, tzinfo=UTC)),  # no GMT: Louisville, EDT
        ("LOUISVILLE", datetime(2024, 6, 11, 8, 30, tzinfo=UTC)),  # gmtTime "83000"
        ("SECAUCUS", datetime(2024, 6, 11, 11, 5, tzinfo=UTC)),  # no GMT: New Jersey, EDT
        ("WAYNE", datetime(2024, 6, 11, 13, 10, tzinfo=UTC)),  # no GMT: ZIP 07470
        ("WAYNE", datetime(2024, 6, 11, 18, 32, tzinfo=UTC)),
    ]
    assert result.scans[-1].status is S.DELIVERED
    assert Counter(base.time_zone_guesses) - before == Counter(
        {("ups", "offset"): 3, ("ups", "city"): 1, ("ups", "state"): 1, ("ups", "postal"): 2}
    )


def test_new_jersey_journey_keeps_its_true_order_where_utc_would_not() -> None:
    """Read as UTC, Secaucus' arrival (07:05 local) would come before Louisville's departure
    (08:30 UTC from the GMT fields): the parcel would arrive before it left."""
    body = load("track_offset_less_new_jersey.json")
    activities = list(reversed(body["trackResponse"]["shipment"][0]["package"][0]["activity"]))
    result = parse_tracking(body, [NEW_JERSEY])[0]

    assert [s.description for s in result.scans] == [
        a["status"]["description"].strip() for a in activities
    ]
    times = [s.occurred_at for s in result.scans]
    assert times == sorted(times)
    naive = [occurred_at({k: v for k, v in a.items() if k != "location"}) for a in activities]
    as_utc = [p.at for p in naive if p is not None]
    assert as_utc != sorted(as_utc)


def test_fetch_passes_the_querys_destination_country_to_the_parser() -> None:
    body = load("track_offset_less_new_jersey.json")
    package = body["trackResponse"]["shipment"][0]["package"][0]
    del package["packageAddress"]
    package["activity"] = [_activity(date="20240611", time="070500")]
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        ups.get(_track_path(NEW_JERSEY)).respond(200, json=body)

        async def fetch() -> list[base.TrackingResult]:
            adapter = UpsAdapter(configured(), policy=NO_RETRY)
            try:
                return await adapter.fetch([TrackingQuery(NEW_JERSEY, destination_country="DE")])
            finally:
                await adapter.aclose()

        [result] = run(fetch())
    assert result.scans[0].occurred_at == datetime(2024, 6, 11, 5, 5, tzinfo=UTC)  # CEST


def test_activity_without_a_readable_time_is_skipped() -> None:
    body = load("track_delivered.json")
    activities = body["trackResponse"]["shipment"][0]["package"][0]["activity"]
    for key in ("gmtDate", "gmtTime", "date", "time"):
        del activities[0][key]

    result = parse_tracking(body, [DELIVERED])[0]
    assert len(result.scans) == 9
    assert result.scans[-1].status is S.OUT_FOR_DELIVERY


def test_scans_with_the_same_time_keep_the_order_ups_listed_them_in() -> None:
    body = load("track_delivered.json")
    activities = body["trackResponse"]["shipment"][0]["package"][0]["activity"]
    for key in ("gmtDate", "gmtTime"):
        activities[1][key] = activities[0][key]  # out for delivery at the delivery second

    scans = parse_tracking(body, [DELIVERED])[0].scans
    assert [s.status for s in scans[-2:]] == [S.OUT_FOR_DELIVERY, S.DELIVERED]


def test_activity_without_status_is_unknown_with_a_placeholder_description() -> None:
    scan = parse_activity({"gmtDate": "20250101", "gmtTime": "10:00:00"})
    assert scan is not None
    assert (scan.status, scan.raw_code, scan.description) == (S.UNKNOWN, "//", "UPS status //")


def test_results_follow_the_order_of_numbers_and_name_missing_ones() -> None:
    delivered = load("track_delivered.json")["trackResponse"]["shipment"][0]
    transit = load("track_in_transit.json")["trackResponse"]["shipment"][0]
    body = {"trackResponse": {"shipment": [delivered, transit]}}

    results = parse_tracking(body, [IN_TRANSIT, "1Z9W3E266708669270", DELIVERED.lower()])
    assert [r.outcome for r in results] == ["found", "error", "found"]
    assert results[0].scans[-1].location.country == "DE"
    assert results[1].error == "UPS answer names no such shipment"
    assert results[2].tracking_number == DELIVERED.lower()
    assert results[2].scans[-1].status is S.DELIVERED


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (400, "151018", "not_found"),
        (400, "TV1002", "not_found"),
        (404, "X1", "not_found"),
        (400, "TV9999", "error"),
    ],
)
def test_error_bodies_are_per_number_outcomes(status: int, code: str, outcome: str) -> None:
    body = {"response": {"errors": [{"code": code, "message": "Invalid inquiry"}]}}
    [result] = parse_tracking(body, [DELIVERED], http_status=status)
    assert result.outcome == outcome
    if outcome == "error":
        assert result.error == f"UPS {code}: Invalid inquiry"


def test_other_warning_without_package_is_an_error_with_its_text() -> None:
    body = {
        "trackResponse": {
            "shipment": [
                {
                    "inquiryNumber": DELIVERED,
                    "warnings": [{"code": "TW9999", "message": "A warning we have never seen"}],
                }
            ]
        }
    }
    [result] = parse_tracking(body, [DELIVERED])
    assert (result.outcome, result.error) == (
        "error",
        "UPS TW9999: A warning we have never seen",
    )


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        {},
        {"trackResponse": {"shipment": {}}},
        {"trackResponse": []},
        {"trackResponse": {"shipment": ["1Z"]}},
        {"trackResponse": {"shipment": [{"package": {"activity": []}}]}},
        {"trackResponse": {"shipment": [{"package": [{"activity": "none"}]}]}},
    ],
)
def test_shapes_ups_does_not_document_are_malformed(body: Any) -> None:
    with pytest.raises(CarrierMalformedResponse):
        parse_tracking(body, [DELIVERED])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_TRACK_FIXTURES = sorted(p.name for p in FIXTURES.glob("track_*.json"))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _paths(child, (*prefix, index))
    return paths


@st.composite
def _mutated_fixture(draw: st.DrawFn) -> Any:
    body = copy.deepcopy(load(draw(st.sampled_from(_TRACK_FIXTURES))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)))
        if not path:
            return draw(_JSON)
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = draw(_JSON)
    return body


_NUMBERS = st.lists(
    st.sampled_from([DELIVERED, IN_TRANSIT, UNKNOWN, ""]) | st.text(max_size=20),
    min_size=1,
    max_size=3,
)


@settings(max_examples=100, deadline=None)
@given(body=_JSON | _mutated_fixture(), numbers=_NUMBERS)
def test_parser_raises_only_malformed_on_arbitrary_json(body: Any, numbers: list[str]) -> None:
    try:
        results = parse_tracking(body, numbers)
    except CarrierMalformedResponse:
        return
    assert [r.tracking_number for r in results] == numbers
    for result in results:
        assert all(s.occurred_at.tzinfo is not None for s in result.scans)
        assert all(s.occurred_at.utcoffset() == UTC.utcoffset(None) for s in result.scans)


# --- adapter surface ------------------------------------------------------------------------


def test_adapter_satisfies_the_contract_and_links_to_ups() -> None:
    adapter = UpsAdapter(configured())
    assert isinstance(adapter, CarrierAdapter)
    assert (adapter.code, adapter.name) == ("ups", "UPS")
    assert adapter.capabilities.batch_size == 1
    assert adapter.tracking_url("1za8 f492 6604 7386 14") == (
        f"https://www.ups.com/track?loc=en_US&tracknum={DELIVERED}"
    )
    run(adapter.aclose())


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (DELIVERED, True),
        ("1z a8f 492 66 0473 8614", True),
        ("1Z999AA10123456784", True),  # UPS's published example
        ("1ZA8F4926604738615", False),  # check digit off by one
        ("1ZA8F4926604783614", False),  # two digits swapped
        ("1ZA8F49266047386", False),  # too short
        ("123456789012", False),  # a FedEx-style number
        ("", False),
    ],
)
def test_matches_needs_the_1z_format_and_its_check_digit(number: str, expected: bool) -> None:
    assert UpsAdapter(UpsSettings(client_id=None, client_secret=None)).matches(number) is expected


def test_settings_come_from_the_documented_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RT_UPS_CLIENT_ID", "id-from-env")
    monkeypatch.setenv("RT_UPS_CLIENT_SECRET", "secret-from-env")
    monkeypatch.setenv("RT_UPS_BASE_URL", "https://wwwcie.ups.com")
    monkeypatch.setenv("RT_UPS_REQUESTS_PER_SECOND", "1.5")
    monkeypatch.setenv("RT_UPS_MAX_CONCURRENCY", "2")
    monkeypatch.setenv("RT_UPS_DAILY_QUOTA", "5000")

    adapter = UpsAdapter()
    assert adapter.configured
    assert adapter.settings.client_secret is not None
    assert adapter.settings.client_secret.get_secret_value() == "secret-from-env"
    assert adapter.settings.base_url == "https://wwwcie.ups.com"
    assert adapter.capabilities == base.Capabilities(
        batch_size=1, requests_per_second=1.5, max_concurrency=2, daily_quota=5000
    )
    run(adapter.aclose())


def test_defaults_point_at_production_and_are_unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLIENT_ID", "CLIENT_SECRET", "BASE_URL", "DAILY_QUOTA"):
        monkeypatch.delenv(f"RT_UPS_{name}", raising=False)
    settings_ = UpsSettings()
    assert settings_.base_url == PRODUCTION_URL == "https://onlinetools.ups.com"
    assert settings_.daily_quota is None
    assert not UpsAdapter(settings_).configured


def test_unconfigured_fetch_says_which_variable_to_set() -> None:
    adapter = UpsAdapter(UpsSettings(client_id="only-the-id", client_secret=None))
    with pytest.raises(CarrierAuthError, match="RT_UPS_CLIENT_SECRET") as raised:
        run(adapter.fetch([TrackingQuery(DELIVERED)]))
    assert "RT_UPS_CLIENT_ID" not in str(raised.value)


# --- fetch through a fake UPS ---------------------------------------------------------------


def _track_path(number: str) -> str:
    return f"/api/track/v1/details/{number}"


async def _fetch(numbers: list[str], **settings_: Any) -> list[base.TrackingResult]:
    adapter = UpsAdapter(configured(**settings_), policy=NO_RETRY)
    try:
        return await adapter.fetch([TrackingQuery(n) for n in numbers])
    finally:
        await adapter.aclose()


def test_fetch_gets_a_token_with_basic_auth_then_tracks_each_number() -> None:
    with respx.mock(base_url=PRODUCTION_URL, assert_all_called=True) as ups:
        token = ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        tracked = ups.get(_track_path(DELIVERED)).respond(200, json=load("track_delivered.json"))

        [result] = run(_fetch([DELIVERED]))

    assert result.outcome == "found"
    assert result.scans[-1].status is S.DELIVERED
    token_request = token.calls.last.request
    expected = base64.b64encode(b"rt-test-client-id:s3cret").decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    assert token_request.content == b"grant_type=client_credentials"
    request = tracked.calls.last.request
    assert request.headers["Authorization"].startswith("Bearer eyJraWQi")
    assert request.headers["transactionSrc"] == "resolution-tracker"
    assert len(request.headers["transId"]) == 32
    assert request.url.params["locale"] == "en_US"
    assert request.url.params["returnSignature"] == "false"


def test_fetch_of_a_batch_is_one_call_per_number_in_order_with_fresh_trans_ids() -> None:
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        token = ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        ups.get(_track_path(IN_TRANSIT)).respond(200, json=load("track_in_transit.json"))
        ups.get(_track_path(UNKNOWN)).respond(200, json=load("track_not_found.json"))
        ups.get(_track_path(CUSTOMS)).respond(400, json=load("error_invalid_number.json"))

        results = run(_fetch([IN_TRANSIT, UNKNOWN, CUSTOMS]))

        trans_ids = {c.request.headers["transId"] for c in ups.calls if c.request.method == "GET"}
    assert [(r.tracking_number, r.outcome) for r in results] == [
        (IN_TRANSIT, "found"),
        (UNKNOWN, "not_found"),
        (CUSTOMS, "not_found"),
    ]
    assert len(trans_ids) == 3
    assert token.call_count == 1  # one token shared by the batch


def test_fetch_of_an_unknown_number_is_not_found() -> None:
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        ups.get(_track_path(UNKNOWN)).respond(200, json=load("track_not_found.json"))
        [result] = run(_fetch([UNKNOWN]))
    assert (result.tracking_number, result.outcome) == (UNKNOWN, "not_found")


def test_fetch_renews_a_refused_token_once_and_succeeds() -> None:
    first, second = load("oauth_token.json"), load("oauth_token.json") | {"access_token": "new"}
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        token = ups.post(TOKEN_URL)
        token.side_effect = [httpx.Response(200, json=first), httpx.Response(200, json=second)]
        tracked = ups.get(_track_path(DELIVERED))
        tracked.side_effect = [
            httpx.Response(401, json=load("error_auth.json")),
            httpx.Response(200, json=load("track_delivered.json")),
        ]
        [result] = run(_fetch([DELIVERED]))

    assert result.outcome == "found"
    assert token.call_count == 2
    assert tracked.calls.last.request.headers["Authorization"] == "Bearer new"


def test_concurrent_refusals_renew_the_token_only_once() -> None:
    fixtures = {
        IN_TRANSIT: "track_in_transit.json",
        CUSTOMS: "track_customs_hold.json",
        EXCEPTION: "track_exception.json",
    }
    first, second = load("oauth_token.json"), load("oauth_token.json") | {"access_token": "new"}

    refused: list[str] = []
    all_refused = asyncio.Event()

    async def ups_tracking(request: httpx.Request) -> httpx.Response:
        """UPS has revoked the first token; all three calls hold it before any is refused."""
        if request.headers["Authorization"] != "Bearer new":
            refused.append(request.url.path)
            if len(refused) == len(fixtures):
                all_refused.set()
            await all_refused.wait()
            return httpx.Response(401, json=load("error_auth.json"))
        return httpx.Response(200, json=load(fixtures[request.url.path.rsplit("/", 1)[-1]]))

    with respx.mock(base_url=PRODUCTION_URL) as ups:
        token = ups.post(TOKEN_URL)
        token.side_effect = [httpx.Response(200, json=first), httpx.Response(200, json=second)]
        tracked = ups.get(path__startswith="/api/track/v1/details/").mock(side_effect=ups_tracking)
        results = run(_fetch(list(fixtures)))

    assert [r.outcome for r in results] == ["found"] * 3
    assert len(refused) == 3
    assert token.call_count == 2  # not one renewal per refused call
    assert tracked.call_count == 6


def test_fetch_raises_auth_error_when_ups_refuses_twice() -> None:
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        tracked = ups.get(_track_path(DELIVERED)).respond(401, json=load("error_auth.json"))
        with pytest.raises(CarrierAuthError, match="HTTP 401"):
            run(_fetch([DELIVERED]))
    assert tracked.call_count == 2


def test_fetch_raises_auth_error_when_the_token_is_refused() -> None:
    with respx.mock(base_url=PRODUCTION_URL, assert_all_called=False) as ups:
        ups.post(TOKEN_URL).respond(401, json=load("error_auth.json"))
        tracked = ups.get(_track_path(DELIVERED))
        with pytest.raises(CarrierAuthError, match="token request refused"):
            run(_fetch([DELIVERED]))
    assert tracked.call_count == 0


def test_fetch_reports_rate_limit_with_the_wait_ups_asked_for() -> None:
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        ups.get(_track_path(DELIVERED)).respond(
            429, json=load("error_rate_limited.json"), headers={"Retry-After": "7"}
        )
        with pytest.raises(CarrierRateLimited) as raised:
            run(_fetch([DELIVERED]))
    assert raised.value.retry_after == 7.0
    assert raised.value.carrier == "ups"


def test_fetch_reports_a_5xx_as_that_numbers_unanswered_result() -> None:
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        ups.get(_track_path(DELIVERED)).respond(503, json=load("error_unavailable.json"))
        [result] = run(_fetch([DELIVERED]))
    assert (result.outcome, result.call_failed) == ("error", True)
    assert result.error is not None
    assert "CarrierUnavailable" in result.error
    assert "HTTP 503" in result.error


def test_fetch_reports_a_broken_body_as_that_numbers_unanswered_result() -> None:
    with respx.mock(base_url=PRODUCTION_URL) as ups:
        ups.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        ups.get(_track_path(DELIVERED)).respond(
            200, content=(FIXTURES / "malformed.txt").read_bytes()
        )
        [result] = run(_fetch([DELIVERED]))
    assert result.call_failed is True
    assert result.error is not None
    assert result.error.startswith("CarrierMalformedResponse")


def test_fetch_uses_the_configured_base_url_and_records_health() -> None:
    async def scenario() -> tuple[base.TrackingResult, base.CarrierHealth]:
        adapter = UpsAdapter(configured(base_url="https://wwwcie.ups.com"), policy=NO_RETRY)
        try:
            [result] = await adapter.fetch([TrackingQuery(EXCEPTION)])
            return result, adapter.health()
        finally:
            await adapter.aclose()

    with respx.mock(base_url="https://wwwcie.ups.com") as cie:
        cie.post(TOKEN_URL).respond(200, json=load("oauth_token.json"))
        cie.get(_track_path(EXCEPTION)).respond(200, json=load("track_exception.json"))
        result, health = run(scenario())
    assert result.scans[-1].status is S.EXCEPTION
    assert health.last_success_at is not None
    assert health.breaker_state == "closed"
