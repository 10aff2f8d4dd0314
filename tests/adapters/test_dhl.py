"""DHL adapter: request building, parsing of DHL's real response shapes, fetch over fake HTTP."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from adapters._http import NO_RETRY, HttpPolicy
from adapters.base import (
    CarrierAdapter,
    CarrierAuthError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    Location,
    ScanStatus,
    TrackingQuery,
    time_zone_guesses,
    unmapped_codes,
)
from adapters.dhl import (
    DhlAdapter,
    DhlSettings,
    build_headers,
    build_request,
    parse_tracking,
    service_hint,
)
from adapters.dhl_parse import location_of, place_in_time, status_for

S = ScanStatus
FIXTURES = Path(__file__).parent / "fixtures" / "dhl"
BASE = "https://api-eu.dhl.com"
EXPRESS = "5784652101"  # 578465210 % 7 == 1
PARCEL_DE = "00340434161094027318"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def adapter(**overrides: Any) -> DhlAdapter:
    values: dict[str, Any] = {"api_key": SecretStr("test-key"), "requests_per_second": 0}
    values.update(overrides)
    return DhlAdapter(DhlSettings(**values), policy=NO_RETRY)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- request building -------------------------------------------------------------------


def test_express_number_is_sent_with_the_express_hint_and_origin_country():
    query = TrackingQuery(number="5784 6521 01", origin_country="cn", destination_country="NL")
    assert build_request(query) == {
        "trackingNumber": EXPRESS,
        "language": "en",
        "service": "express",
        "originCountryCode": "CN",
    }


def test_other_divisions_get_no_service_hint_and_bad_origin_is_not_sent():
    query = TrackingQuery(number=PARCEL_DE, origin_country="Germany", destination_country="AT")
    assert build_request(query) == {"trackingNumber": PARCEL_DE, "language": "en"}


def test_express_piece_ids_are_hinted_as_express():
    assert service_hint("JJD0099999999") == "express"
    assert service_hint("GM2951173225174494") is None


def test_the_key_travels_in_the_dhl_api_key_header():
    assert build_headers("abc123") == {"DHL-API-Key": "abc123"}


# --- parsing the fixtures -----------------------------------------------------------------


def test_delivered_express_journey_is_classified_from_description_text():
    [result] = parse_tracking(fixture("track_delivered.json"), [EXPRESS])
    assert result.outcome == "found"
    assert [s.status for s in result.scans] == [
        S.ACCEPTED,
        *[S.IN_TRANSIT] * 6,
        S.CUSTOMS_HOLD,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    first, last = result.scans[0], result.scans[-1]
    # offset-less local times: Shenzhen is UTC+8, Rotterdam UTC+1 in March
    assert first.occurred_at == utc(2024, 3, 11, 6, 36)
    assert first.location == Location(city="SHENZHEN", country="CN")
    assert (first.raw_code, first.raw_text, first.raw_timestamp) == (
        None,
        "Shipment picked up",
        "2024-03-11T14:36:00",
    )
    assert last.occurred_at == utc(2024, 3, 14, 10, 2)
    assert last.location == Location(city="ROTTERDAM", country="NL")
    assert (last.raw_code, last.raw_text) == ("delivered", "Delivered")
    assert not any(s.carrier_delay for s in result.scans)


def test_hong_kong_and_leipzig_scans_are_placed_in_their_own_zones():
    [result] = parse_tracking(fixture("track_delivered.json"), [EXPRESS])
    by_text = {s.raw_text: s for s in result.scans}
    hong_kong = by_text["Processed at HONG KONG - HONG KONG SAR, CHINA"]
    assert hong_kong.location.country == "HK"
    assert hong_kong.occurred_at == utc(2024, 3, 11, 11, 50)
    leipzig = by_text["Processed at LEIPZIG - GERMANY"]
    assert leipzig.occurred_at == utc(2024, 3, 12, 15, 2)
    # DHL sends two spaces here; the description is tidied, the raw text is not
    arrived = result.scans[-3]
    assert arrived.raw_text == "Arrived at DHL Delivery Facility  ROTTERDAM - NETHERLANDS"
    assert arrived.description == "Arrived at DHL Delivery Facility ROTTERDAM - NETHERLANDS"


def test_customs_hold_with_clearance_delay_is_flagged_as_a_carrier_delay():
    [result] = parse_tracking(fixture("track_customs_hold.json"), ["4837150253"])
    last = result.scans[-1]
    assert last.status is S.CUSTOMS_HOLD
    assert last.carrier_delay is True
    assert last.exception_reason == "Clearance delay"
    assert last.location == Location(city="LONDON-HEATHROW", country="GB")
    assert last.occurred_at == utc(2024, 2, 21, 8, 30)  # London is UTC in February
    assert [s.status for s in result.scans[-3:]] == [S.CUSTOMS_HOLD] * 3


def test_parcel_de_in_transit_uses_status_codes_refined_by_text():
    [result] = parse_tracking(fixture("track_in_transit.json"), [PARCEL_DE])
    assert [(s.status, s.raw_code) for s in result.scans] == [
        (S.INFO_RECEIVED, "pre-transit"),
        (S.ACCEPTED, "transit"),
        (S.IN_TRANSIT, "transit"),
        (S.IN_TRANSIT, "transit"),
        (S.IN_TRANSIT, "transit"),
    ]
    data, *_, arrived = result.scans
    # no location: the offset-less time is local at the destination, Vienna (UTC+2 in May)
    assert data.location == Location()
    assert data.occurred_at == utc(2024, 5, 5, 19, 3)
    # "Austria" alone is a country, not a city; Vienna is UTC+2 in May
    assert arrived.location == Location(country="AT")
    assert arrived.occurred_at == utc(2024, 5, 7, 8, 12)


def test_failure_event_is_an_exception_with_the_remark_as_reason():
    [result] = parse_tracking(fixture("track_exception.json"), ["00340434161094031254"])
    last = result.scans[-1]
    assert last.status is S.EXCEPTION
    assert last.raw_code == "failure"
    assert last.exception_reason == (
        "The packaging was damaged and the contents could not be secured."
    )
    # no location, but origin and destination are both Germany: Berlin time (UTC+2)
    assert last.location == Location()
    assert last.occurred_at == utc(2024, 6, 12, 11, 27)


def test_return_flag_turns_delivered_into_returned_to_sender():
    [result] = parse_tracking(fixture("track_returned.json"), ["00340434161094015982"])
    statuses = [s.status for s in result.scans]
    assert statuses == [
        S.ACCEPTED,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.EXCEPTION,
        S.RETURNED_TO_SENDER,
        S.RETURNED_TO_SENDER,
    ]
    refused, last = result.scans[3], result.scans[-1]
    assert refused.exception_reason == "Acceptance of the shipment was refused by the recipient."
    assert last.raw_code == "delivered"
    assert last.raw_timestamp == "2024-07-22T10:41:00+02:00"
    assert last.occurred_at == utc(2024, 7, 22, 8, 41)
    assert last.location == Location(city="Berlin", country="DE")


def test_label_only_express_shipment_is_info_received():
    [result] = parse_tracking(fixture("track_label_created.json"), ["6192038742"])
    [scan] = result.scans
    assert scan.status is S.INFO_RECEIVED
    assert scan.location == Location(city="MILAN", country="IT")
    assert scan.occurred_at == utc(2024, 4, 2, 16, 20)  # Milan is UTC+2 after 31 March


def test_404_problem_body_is_not_found_not_an_error():
    assert parse_tracking(fixture("track_not_found.json"), ["3028475612"])[0].outcome == (
        "not_found"
    )


def test_cases_file_lists_every_tracking_fixture_with_its_outcome():
    cases = fixture("cases.json")
    assert sorted(c["file"] for c in cases) == sorted(p.name for p in FIXTURES.glob("track_*.json"))
    for case in cases:
        results = parse_tracking(fixture(case["file"]), case["numbers"])
        assert [r.outcome for r in results] == case["outcomes"], case["file"]
        last = results[0].scans[-1].status.value if results[0].scans else None
        assert last == case["last_status"], case["file"]


# --- parsing rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "text", "return_flag", "expected"),
    [
        ("transit", "Shipment picked up", False, (S.ACCEPTED, False)),
        ("transit", "Processed for clearance at LEIPZIG - GERMANY", False, (S.CUSTOMS_HOLD, False)),
        ("transit", "Shipment is out with courier for delivery", False,
         (S.OUT_FOR_DELIVERY, False)),
        ("transit", "Delivered", False, (S.IN_TRANSIT, False)),  # text may not overrule a code
        ("transit", "Shipment delayed due to weather", False, (S.IN_TRANSIT, True)),
        ("failure", "Delivery attempted - recipient not available", False,
         (S.FAILED_ATTEMPT, False)),
        ("failure", "Something went wrong", False, (S.EXCEPTION, False)),
        ("delivered", "Delivered", True, (S.RETURNED_TO_SENDER, False)),
        ("pre-transit", "Shipment picked up", False, (S.INFO_RECEIVED, False)),
        ("unknown", "The shipment is ready for pick-up at the PACKSTATION", False,
         (S.AVAILABLE_FOR_PICKUP, False)),
        (None, "Please contact DHL", False, (S.EXCEPTION, False)),
        (None, "Shipment is on hold", False, (S.EXCEPTION, False)),
        (None, "Delivered - Signed for by: J.SMITH", True, (S.RETURNED_TO_SENDER, False)),
        (None, "The shipment could not be delivered", False, (S.FAILED_ATTEMPT, False)),
        (None, "Clearance delay", False, (S.CUSTOMS_HOLD, True)),
    ],
)  # fmt: skip
def test_status_code_and_text_classification(code, text, return_flag, expected):
    assert status_for(code, text, return_flag=return_flag) == expected


def test_unknown_phrase_without_code_is_unknown_and_counted():
    before = unmapped_codes[("dhl", "(no statusCode)")]
    assert status_for(None, "Shipment teleported to the moon") == (S.UNKNOWN, False)
    assert unmapped_codes[("dhl", "(no statusCode)")] == before + 1


def test_unmapped_status_code_is_unknown_and_counted_even_with_known_text():
    before = unmapped_codes[("dhl", "out-for-delivery")]
    status, _ = status_for("out-for-delivery", "Shipment is out with courier for delivery")
    assert status is S.UNKNOWN
    assert unmapped_codes[("dhl", "out-for-delivery")] == before + 1


def test_dhl_unknown_code_without_a_known_phrase_is_counted():
    before = unmapped_codes[("dhl", "unknown")]
    assert status_for("unknown", "Status not available")[0] is S.UNKNOWN
    assert unmapped_codes[("dhl", "unknown")] == before + 1


@pytest.mark.parametrize(
    ("raw", "where", "expected"),
    [
        ("2024-01-15T10:00:00Z", Location(country="US"), (utc(2024, 1, 15, 10), "offset")),
        ("2024-01-15T10:00:00-05:00", Location(), (utc(2024, 1, 15, 15), "offset")),
        ("2024-01-15T10:00:00", Location(country="US"), (utc(2024, 1, 15, 10), "utc")),
        ("2024-01-15T10:00:00", Location(), (utc(2024, 1, 15, 10), "utc")),
        ("2024-01-15T10:00:00", Location(country="CN"), (utc(2024, 1, 15, 2), "country")),
        ("2024-07-15T10:00:00", Location(country="DE"), (utc(2024, 7, 15, 8), "country")),
        # the Canaries differ from Madrid, and no town says which: UTC
        ("2024-07-15T10:00:00", Location(country="ES"), (utc(2024, 7, 15, 10), "utc")),
        ("2024-07-15T10:00:00", Location(city="MADRID", country="ES"),
         (utc(2024, 7, 15, 8), "city")),
        ("2024-07-15", Location(country="NL"), (utc(2024, 7, 14, 22), "country")),
        ("15.07.2024 10:00", Location(country="DE"), None),
    ],
)  # fmt: skip
def test_offset_less_times_are_local_where_the_event_happened(raw, where, expected):
    assert place_in_time(raw, where) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ({"addressLocality": "ZURICH - UNTERENGSTRINGEN - SWITZERLAND"},
         Location(city="ZURICH - UNTERENGSTRINGEN", country="CH")),
        ({"addressLocality": "Oderweg 2, AMSTERDAM", "countryCode": "nl", "postalCode": "1043 AG"},
         Location(city="Oderweg 2, AMSTERDAM", postal_code="1043 AG", country="NL")),
        ({"addressLocality": "Germany"}, Location(country="DE")),
        ({"addressLocality": "Springfield", "addressRegion": "IL", "countryCode": "USA"},
         Location(city="Springfield", region="IL", country="US")),
        ({"addressLocality": "CINCINNATI HUB, OH - USA"},
         Location(city="CINCINNATI HUB", region="OH", country="US")),
        ({"addressLocality": "SOUTHERN ALBERTA, AB - CANADA"},
         Location(city="SOUTHERN ALBERTA", region="AB", country="CA")),
        ({"addressLocality": "CALGARY"}, Location(city="CALGARY")),
        # not a state of the country: the comma stays in the town's text
        ({"addressLocality": "PARIS, XX - FRANCE"}, Location(city="PARIS, XX", country="FR")),
        ({"addressLocality": "NOWHERE - ATLANTIS"}, Location(city="NOWHERE - ATLANTIS")),
    ],
)  # fmt: skip
def test_locations_take_the_country_from_the_locality_text(address, expected):
    assert location_of({"address": address}) == expected


def test_each_number_gets_its_own_result_in_order():
    body = fixture("track_delivered.json")
    results = parse_tracking(body, ["1234567891", EXPRESS])
    assert [(r.tracking_number, r.outcome) for r in results] == [
        ("1234567891", "not_found"),
        (EXPRESS, "found"),
    ]


def test_a_piece_id_query_finds_its_shipment():
    [result] = parse_tracking(fixture("track_delivered.json"), ["JD014600010938471625"])
    assert result.outcome == "found"
    assert result.scans[-1].status is S.DELIVERED


def test_empty_shipments_list_is_not_found():
    assert parse_tracking({"shipments": []}, [EXPRESS])[0].outcome == "not_found"


def test_other_4xx_problem_is_a_per_number_error():
    [result] = parse_tracking(fixture("error_bad_request.json"), [EXPRESS])
    assert result.outcome == "error"
    assert result.error == "DHL HTTP 400: Invalid value for parameter 'trackingNumber'."


@pytest.mark.parametrize(
    "body",
    [[], "shipments", {}, {"shipments": {"id": "1"}}, fixture("error_unavailable.json")],
)
def test_unreadable_bodies_raise_malformed(body):
    with pytest.raises(CarrierMalformedResponse):
        parse_tracking(body, [EXPRESS])


def test_shipment_without_events_uses_its_status_as_the_one_scan():
    body = fixture("track_label_created.json")
    del body["shipments"][0]["events"]
    [result] = parse_tracking(body, ["6192038742"])
    assert [s.status for s in result.scans] == [S.INFO_RECEIVED]


def test_unreadable_event_is_skipped_and_all_unreadable_is_an_error():
    body = fixture("track_customs_hold.json")
    events = body["shipments"][0]["events"]
    events[0]["timestamp"] = "yesterday"
    [result] = parse_tracking(body, ["4837150253"])
    assert len(result.scans) == len(events) - 1
    for event in events:
        event["timestamp"] = None
    assert parse_tracking(body, ["4837150253"])[0].outcome == "error"
    body["shipments"][0]["events"] = "none"
    assert parse_tracking(body, ["4837150253"])[0].error == "DHL events is not a list"


def test_events_at_the_same_minute_keep_dhls_order():
    body = fixture("track_delivered.json")
    events = body["shipments"][0]["events"]
    events[1]["timestamp"] = events[0]["timestamp"]  # out for delivery and delivered together
    [result] = parse_tracking(body, [EXPRESS])
    assert [s.status for s in result.scans[-2:]] == [S.OUT_FOR_DELIVERY, S.DELIVERED]


# --- local times without an offset ---------------------------------------------------------

NORTH_AMERICA = "4839205173"


def test_offset_less_journey_from_leipzig_to_calgary_is_placed_in_local_zones():
    before = Counter(time_zone_guesses)
    [result] = parse_tracking(fixture("track_offset_less_north_america.json"), [NORTH_AMERICA])
    placed = [(s.location.city, s.raw_timestamp, s.occurred_at) for s in result.scans]
    assert placed == [
        ("LEIPZIG", "2024-03-11T16:20:00", utc(2024, 3, 11, 15, 20)),  # CET
        ("LEIPZIG", "2024-03-11T21:45:00", utc(2024, 3, 11, 20, 45)),
        ("LEIPZIG", "2024-03-11T23:05:00+01:00", utc(2024, 3, 11, 22, 5)),  # its own offset
        ("NEW YORK CITY GATEWAY", "2024-03-12T01:55:00", utc(2024, 3, 12, 5, 55)),  # EDT
        ("NEW YORK CITY GATEWAY", "2024-03-12T04:30:00-04:00", utc(2024, 3, 12, 8, 30)),
        ("NEW YORK CITY GATEWAY", "2024-03-12T06:15:00", utc(2024, 3, 12, 10, 15)),
        ("CINCINNATI HUB", "2024-03-12T08:20:00", utc(2024, 3, 12, 12, 20)),  # EDT
        ("CINCINNATI HUB", "2024-03-12T09:40:00", utc(2024, 3, 12, 13, 40)),
        ("SOUTHERN ALBERTA", "2024-03-12T11:35:00", utc(2024, 3, 12, 17, 35)),  # MDT
        ("SOUTHERN ALBERTA", "2024-03-12T12:30:00", utc(2024, 3, 12, 18, 30)),
        ("CALGARY", "2024-03-13T08:05:00", utc(2024, 3, 13, 14, 5)),
        ("CALGARY", "2024-03-13T10:47:00", utc(2024, 3, 13, 16, 47)),
    ]
    assert [s.location.region for s in result.scans[3:10]] == ["NY"] * 3 + ["OH"] * 2 + ["AB"] * 2
    assert result.scans[-1].status is S.DELIVERED
    assert Counter(time_zone_guesses) - before == Counter(
        {("dhl", "offset"): 2, ("dhl", "country"): 2, ("dhl", "state"): 6, ("dhl", "city"): 2}
    )


def test_offset_less_journey_across_the_atlantic_keeps_its_true_order():
    """Read as UTC, New York's departure (06:15) would come before the transfer DHL stamped
    04:30-04:00, and Cincinnati's arrival too: the journey would run backwards."""
    body = fixture("track_offset_less_north_america.json")
    in_dhl_order = [e["timestamp"] for e in reversed(body["shipments"][0]["events"])]
    [result] = parse_tracking(body, [NORTH_AMERICA])

    assert [s.raw_timestamp for s in result.scans] == in_dhl_order
    times = [s.occurred_at for s in result.scans]
    assert times == sorted(times)

    def as_utc(raw: str) -> datetime:
        moment = datetime.fromisoformat(raw)
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    assert sorted(in_dhl_order, key=as_utc) != in_dhl_order


def test_an_unknown_place_uses_the_destination_from_dhl_else_from_the_query():
    body = fixture("track_offset_less_north_america.json")
    shipment = body["shipments"][0]
    shipment["events"] = [
        {
            "timestamp": "2024-07-15T09:00:00",
            "location": {"address": {"addressLocality": "UNKNOWN FACILITY - CANADA"}},
            "description": "Processed at UNKNOWN FACILITY - CANADA",
        }
    ]
    [result] = parse_tracking(body, [NORTH_AMERICA])
    assert result.scans[0].occurred_at == utc(2024, 7, 15, 15)  # Calgary, MDT

    del shipment["destination"]
    [result] = parse_tracking(body, [NORTH_AMERICA], destination_country="CA")
    assert result.scans[0].occurred_at == utc(2024, 7, 15, 9)  # Canada alone names no zone

    shipment["events"][0]["location"] = None
    [result] = parse_tracking(body, [NORTH_AMERICA], destination_country="NL")
    assert result.scans[0].occurred_at == utc(2024, 7, 15, 7)  # Amsterdam, CEST


def test_an_event_with_no_place_and_no_destination_is_read_as_utc_and_counted():
    body = {"shipments": [{"id": EXPRESS, "events": [
        {"timestamp": "2024-07-15T09:00:00", "description": "Shipment picked up"}
    ]}]}  # fmt: skip
    before = time_zone_guesses[("dhl", "utc")]
    [result] = parse_tracking(body, [EXPRESS])
    assert result.scans[0].occurred_at == utc(2024, 7, 15, 9)
    assert time_zone_guesses[("dhl", "utc")] == before + 1


@pytest.mark.anyio
async def test_fetch_passes_the_querys_destination_country_to_the_parser():
    body = fixture("track_offset_less_north_america.json")
    shipment = body["shipments"][0]
    del shipment["destination"]
    shipment["events"] = [{"timestamp": "2024-07-15T09:00:00", "description": "Shipment picked up"}]
    dhl = adapter()
    with respx.mock(base_url=BASE) as mock:
        mock.get("/track/shipments").respond(200, json=body)
        [result] = await dhl.fetch([TrackingQuery(NORTH_AMERICA, destination_country="DE")])
    await dhl.aclose()
    assert result.scans[0].occurred_at == utc(2024, 7, 15, 7)  # Berlin, CEST


# --- fetch over fake HTTP -----------------------------------------------------------------


def test_adapter_satisfies_the_contract_and_reads_settings_from_env(monkeypatch):
    monkeypatch.setenv("RT_DHL_API_KEY", "from-env")
    monkeypatch.setenv("RT_DHL_DAILY_QUOTA", "1000")
    monkeypatch.setenv("RT_DHL_REQUESTS_PER_SECOND", "2")
    monkeypatch.delenv("RT_DHL_BASE_URL", raising=False)
    dhl = DhlAdapter()
    assert isinstance(dhl, CarrierAdapter)
    assert (dhl.code, dhl.name, dhl.configured) == ("dhl", "DHL", True)
    assert dhl.settings.base_url == BASE
    assert dhl.capabilities.daily_quota == 1000
    assert dhl.capabilities.requests_per_second == 2.0


def test_defaults_are_dhls_published_initial_limits(monkeypatch):
    for name in ("API_KEY", "DAILY_QUOTA", "REQUESTS_PER_SECOND", "MAX_CONCURRENCY"):
        monkeypatch.delenv(f"RT_DHL_{name}", raising=False)
    dhl = DhlAdapter()
    assert dhl.configured is False
    assert dhl.capabilities.requests_per_second == 1.0
    assert dhl.capabilities.daily_quota == 250


@pytest.mark.anyio
async def test_fetch_sends_one_get_per_number_and_returns_results_in_order():
    with respx.mock(base_url=BASE) as mock:
        found = mock.get("/track/shipments", params={"trackingNumber": EXPRESS}).respond(
            200, json=fixture("track_delivered.json")
        )
        missing = mock.get("/track/shipments", params={"trackingNumber": "3028475612"}).respond(
            404, json=fixture("track_not_found.json")
        )
        dhl = adapter()
        results = await dhl.fetch(
            [TrackingQuery(number="3028475612"), TrackingQuery(number=EXPRESS, origin_country="CN")]
        )
        await dhl.aclose()
    assert [(r.tracking_number, r.outcome) for r in results] == [
        ("3028475612", "not_found"),
        (EXPRESS, "found"),
    ]
    assert results[1].scans[-1].status is S.DELIVERED
    request = found.calls.last.request
    assert request.headers["DHL-API-Key"] == "test-key"
    assert dict(request.url.params) == {
        "trackingNumber": EXPRESS,
        "language": "en",
        "service": "express",
        "originCountryCode": "CN",
    }
    assert (found.call_count, missing.call_count) == (1, 1)
    assert dhl.health().last_success_at is not None


@pytest.mark.anyio
async def test_bad_request_for_one_number_is_data():
    with respx.mock(base_url=BASE) as mock:
        mock.get("/track/shipments").respond(400, json=fixture("error_bad_request.json"))
        [result] = await adapter().fetch([TrackingQuery(number="NOT-A-NUMBER")])
    assert result.outcome == "error"
    assert "Invalid value" in (result.error or "")


@pytest.mark.anyio
async def test_refused_key_raises_auth_error():
    with respx.mock(base_url=BASE) as mock:
        mock.get("/track/shipments").respond(401, json=fixture("error_auth.json"))
        dhl = adapter()
        with pytest.raises(CarrierAuthError):
            await dhl.fetch([TrackingQuery(number=EXPRESS), TrackingQuery(number="1234567891")])
    assert dhl.health().last_error == "HTTP 401"


@pytest.mark.anyio
async def test_429_raises_rate_limited_with_retry_after():
    with respx.mock(base_url=BASE) as mock:
        mock.get("/track/shipments").respond(
            429, json=fixture("error_rate_limited.json"), headers={"Retry-After": "30"}
        )
        with pytest.raises(CarrierRateLimited) as caught:
            await adapter().fetch([TrackingQuery(number=EXPRESS)])
    assert caught.value.retry_after == 30.0


@pytest.mark.anyio
async def test_a_503_is_that_numbers_unanswered_result():
    with respx.mock(base_url=BASE) as mock:
        mock.get("/track/shipments").respond(503, json=fixture("error_unavailable.json"))
        [result] = await adapter().fetch([TrackingQuery(number=EXPRESS)])
    assert (result.outcome, result.call_failed) == ("error", True)
    assert result.error is not None
    assert result.error.startswith("CarrierUnavailable")


@pytest.mark.anyio
async def test_one_failing_number_never_sinks_the_others_of_its_batch():
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/track/shipments")
        route.side_effect = lambda request: (
            httpx.Response(503, json=fixture("error_unavailable.json"))
            if request.url.params["trackingNumber"] == "1234567890"
            else httpx.Response(200, json=fixture("track_delivered.json"))
        )
        results = await adapter().fetch(
            [TrackingQuery(number="1234567890"), TrackingQuery(number=EXPRESS)]
        )
    assert [(r.outcome, r.call_failed) for r in results] == [("error", True), ("found", False)]


@pytest.mark.anyio
async def test_503_then_success_is_retried_without_real_sleeping():
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/track/shipments")
        route.side_effect = [
            httpx.Response(503, json=fixture("error_unavailable.json")),
            httpx.Response(200, json=fixture("track_delivered.json")),
        ]
        policy = HttpPolicy(max_attempts=2, backoff_base=0.0, backoff_max=0.0)
        dhl = DhlAdapter(DhlSettings(api_key=SecretStr("k"), requests_per_second=0), policy=policy)
        [result] = await dhl.fetch([TrackingQuery(number=EXPRESS)])
    assert result.outcome == "found"
    assert route.call_count == 2


@pytest.mark.anyio
async def test_a_malformed_body_is_that_numbers_unanswered_result():
    with respx.mock(base_url=BASE) as mock:
        mock.get("/track/shipments").respond(200, content=(FIXTURES / "malformed.txt").read_bytes())
        [result] = await adapter().fetch([TrackingQuery(number=EXPRESS)])
    assert result.call_failed is True
    assert result.error is not None
    assert result.error.startswith("CarrierMalformedResponse")


@pytest.mark.anyio
async def test_used_daily_quota_fails_the_whole_batch():
    with respx.mock(base_url=BASE) as mock:
        mock.get("/track/shipments").respond(200, json=fixture("track_delivered.json"))
        dhl = adapter(daily_quota=1, max_concurrency=1)
        with pytest.raises(CarrierRateLimited):
            await dhl.fetch([TrackingQuery(number=EXPRESS), TrackingQuery(number=EXPRESS)])


@pytest.mark.anyio
async def test_unconfigured_fetch_names_the_variable_and_calls_nothing(monkeypatch):
    monkeypatch.delenv("RT_DHL_API_KEY", raising=False)
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.get("/track/shipments")
        with pytest.raises(CarrierAuthError, match="RT_DHL_API_KEY"):
            await DhlAdapter(policy=NO_RETRY).fetch([TrackingQuery(number=EXPRESS)])
    assert route.call_count == 0


@pytest.mark.anyio
async def test_empty_batch_makes_no_call():
    assert await adapter().fetch([]) == []


# --- detection and links ------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", [EXPRESS, "1234567891", "3318810025", "8487135506", "578 465 2101"]
)
def test_valid_express_waybills_match(number):
    assert adapter().matches(number)


@pytest.mark.parametrize(
    "number",
    [
        "5784652102",  # check digit corrupted
        "5784652011",  # two digits swapped
        "578465210",  # nine digits
        "57846521011",  # eleven digits
        "57846521O1",  # letter O for zero
        "JJD0099999999",  # piece id: no check digit to verify
        "GM2951173225174494",  # DHL eCommerce: no check digit
        "1Z999AA10123456784",  # UPS
        "123456789012",  # FedEx length
        "EE123456785CN",  # UPU S10
        "",
    ],
)
def test_invalid_corrupted_and_foreign_numbers_do_not_match(number):
    assert not adapter().matches(number)


def test_tracking_links_go_to_dhls_public_pages():
    dhl = adapter()
    assert dhl.tracking_url("5784 652101") == (
        "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
        "?submit=1&tracking-id=5784652101"
    )
    assert dhl.tracking_url(PARCEL_DE) == (
        f"https://www.dhl.com/global-en/home/tracking.html?tracking-id={PARCEL_DE}&submit=1"
    )


# --- robustness ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FIXTURE_BODIES = [fixture(p.name) for p in sorted(FIXTURES.glob("track_*.json"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> Any:
    body = copy.deepcopy(draw(st.sampled_from(FIXTURE_BODIES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)))
        if not path:
            return draw(json_values)
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = draw(json_values)
    return body


def _assert_only_malformed(body: Any) -> None:
    try:
        results = parse_tracking(body, [EXPRESS])
    except CarrierMalformedResponse:
        return
    assert len(results) == 1
    for scan in results[0].scans:
        assert scan.occurred_at.tzinfo is UTC


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_raises_nothing_but_malformed(body):
    _assert_only_malformed(body)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_fixtures())
def test_mutated_fixtures_raise_nothing_but_malformed(body):
    _assert_only_malformed(body)
