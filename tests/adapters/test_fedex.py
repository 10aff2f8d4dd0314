"""FedEx adapter: request building, parsing of FedEx-shaped fixtures, and fetch over faked HTTP."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from adapters._http import NO_RETRY
from adapters.base import (
    CarrierAdapter,
    CarrierAuthError,
    CarrierError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    Location,
    ScanStatus,
    TrackingQuery,
    TrackingResult,
    unmapped_codes,
)
from adapters.fedex import (
    FedexAdapter,
    FedexSettings,
    build_headers,
    build_request,
    parse_tracking,
    status_for,
)

FIXTURES = Path(__file__).parent / "fixtures" / "fedex"
BASE_URL = "https://apis.fedex.com"
TOKEN = {"access_token": "tok-1", "token_type": "bearer", "expires_in": 3599, "scope": "CXS-TP"}
TOKEN_2 = {**TOKEN, "access_token": "tok-2"}
S = ScanStatus


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def settings(**overrides: Any) -> FedexSettings:
    values: dict[str, Any] = {
        "client_id": SecretStr("l7xx-project-key"),
        "client_secret": SecretStr("project-secret"),
        "base_url": BASE_URL,
        "requests_per_second": 0,  # no pacing sleeps in tests
    }
    return FedexSettings(**(values | overrides))


def adapter(**overrides: Any) -> FedexAdapter:
    return FedexAdapter(settings(**overrides), policy=NO_RETRY)


def queries(*numbers: str) -> list[TrackingQuery]:
    return [TrackingQuery(number=n) for n in numbers]


# --------------------------------------------------------------------------- request building


def test_request_asks_for_detailed_scans_of_each_number_once_normalised() -> None:
    body = build_request(queries("7948 2913 5608", "794829135608", "392048175502910"))
    assert body == {
        "includeDetailedScans": True,
        "trackingInfo": [
            {"trackingNumberInfo": {"trackingNumber": "794829135608"}},
            {"trackingNumberInfo": {"trackingNumber": "392048175502910"}},
        ],
    }


def test_known_ship_date_sends_a_week_either_side_but_never_past_today() -> None:
    shipped = TrackingQuery(
        number="794829135608", shipped_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    )
    early = build_request([shipped], today=date(2026, 3, 30))["trackingInfo"][0]
    assert (early["shipDateBegin"], early["shipDateEnd"]) == ("2026-03-02", "2026-03-16")
    fresh = build_request([shipped], today=date(2026, 3, 11))["trackingInfo"][0]
    assert (fresh["shipDateBegin"], fresh["shipDateEnd"]) == ("2026-03-02", "2026-03-11")


def test_ship_date_in_the_future_or_unknown_sends_no_window() -> None:
    future = TrackingQuery(number="794829135608", shipped_at=datetime(2026, 5, 1, tzinfo=UTC))
    unknown = TrackingQuery(number="773018465222")
    info = build_request([future, unknown], today=date(2026, 3, 11))["trackingInfo"]
    assert [set(i) for i in info] == [{"trackingNumberInfo"}, {"trackingNumberInfo"}]


def test_more_than_thirty_numbers_in_one_request_is_refused() -> None:
    numbers = [f"{n:012d}" for n in range(31)]
    with pytest.raises(ValueError, match="30"):
        build_request(queries(*numbers))


def test_tracking_call_carries_the_bearer_token_and_json_content_type() -> None:
    assert build_headers("abc") == {
        "Authorization": "Bearer abc",
        "Content-Type": "application/json",
        "X-locale": "en_US",
    }


# --------------------------------------------------------------------------- parsing fixtures


def test_delivered_journey_from_shenzhen_to_chicago_in_utc_with_raw_values_kept() -> None:
    [result] = parse_tracking(load("track_delivered.json"), ["794829135608"])
    assert result.outcome == "found"
    assert [s.status for s in result.scans] == [
        S.INFO_RECEIVED,
        S.ACCEPTED,
        *[S.IN_TRANSIT] * 9,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    label, pickup, delivered = result.scans[0], result.scans[1], result.scans[-1]
    assert delivered.occurred_at == datetime(2026, 3, 12, 15, 42, 18, tzinfo=UTC)
    assert delivered.location == Location("CHICAGO", "IL", "60614", "US")
    assert (delivered.raw_code, delivered.raw_text, delivered.raw_timestamp) == (
        "DL",
        "Delivered",
        "2026-03-12T10:42:18-05:00",
    )
    assert pickup.occurred_at == datetime(2026, 3, 9, 9, 24, tzinfo=UTC)
    assert pickup.location == Location("SHENZHEN", None, "518000", "CN")
    assert label.location == Location(None, None, "518057", "CN")
    assert all(s.occurred_at.utcoffset() == UTC.utcoffset(None) for s in result.scans)
    assert not any(s.carrier_delay or s.exception_reason for s in result.scans)


def test_in_transit_ground_parcel_flags_the_weather_delay_and_places_offsetless_pickup() -> None:
    [result] = parse_tracking(load("track_in_transit.json"), ["392048175502910"])
    pickup, *_, on_the_way, _, delay = result.scans
    assert delay.status is S.IN_TRANSIT
    assert delay.carrier_delay is True
    assert delay.exception_reason == "Severe weather conditions have delayed delivery"
    assert on_the_way.occurred_at == utc("2026-03-10T14:05:00-06:00")
    assert on_the_way.location == Location("ALBUQUERQUE", "NM", "87105", "US")
    # FedEx sent "2026-03-09T00:00:00": it takes the -05:00 of the neighbouring label scan
    assert pickup.raw_timestamp == "2026-03-09T00:00:00"
    assert pickup.occurred_at == datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
    assert pickup.status is S.ACCEPTED
    assert [s.carrier_delay for s in result.scans].count(True) == 1


def test_customs_hold_keeps_its_reason_and_the_clearance_delay() -> None:
    [result] = parse_tracking(load("track_customs_hold.json"), ["773018465222"])
    in_progress, held = result.scans[-2:]
    assert (in_progress.raw_code, in_progress.status) == ("CP", S.CUSTOMS_HOLD)
    assert (held.raw_code, held.status, held.carrier_delay) == ("CD", S.CUSTOMS_HOLD, True)
    assert held.exception_reason == (
        "Import clearance delay - additional information required from the recipient"
    )
    assert held.occurred_at == datetime(2026, 3, 12, 13, 15, tzinfo=UTC)
    assert held.location == Location("MEMPHIS", "TN", "38118", "US")


def test_failed_attempt_then_shipment_exception_carry_their_reasons() -> None:
    [result] = parse_tracking(load("track_exception.json"), ["396150782343"])
    statuses = [s.status for s in result.scans]
    assert statuses[-4:] == [S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT, S.OUT_FOR_DELIVERY, S.EXCEPTION]
    attempt, exception = result.scans[-3], result.scans[-1]
    assert attempt.exception_reason == "Customer not available or business closed"
    assert attempt.location == Location("JERSEY CITY", "NJ", "07302", "US")
    assert exception.exception_reason == "Incorrect recipient address"
    assert exception.occurred_at == datetime(2026, 3, 13, 20, 5, tzinfo=UTC)
    assert result.scans[2].location == Location(
        "ROISSY CHARLES DE GAULLE CEDEX", None, "95700", "FR"
    )


def test_exception_without_scan_reason_takes_the_latest_status_ancillary_reason() -> None:
    body = load("track_exception.json")
    track_result = body["output"]["completeTrackResults"][0]["trackResults"][0]
    track_result["scanEvents"][0].update(exceptionCode="", exceptionDescription="")
    track_result["latestStatusDetail"]["ancillaryDetails"][0]["reasonDescription"] = "Bad street"
    [result] = parse_tracking(body, ["396150782343"])
    assert result.scans[-1].exception_reason == "Bad street"


def test_refused_parcel_returning_to_shipper_is_returned_to_sender() -> None:
    [result] = parse_tracking(load("track_returned.json"), ["284910677137"])
    refused, returning = result.scans[-2:]
    assert (refused.status, refused.exception_reason) == (S.FAILED_ATTEMPT, "Refused by recipient")
    assert (returning.status, returning.raw_code) == (S.RETURNED_TO_SENDER, "RS")
    assert returning.location == Location("MISSISSAUGA", "ON", "L5T2N7", "CA")
    assert returning.occurred_at == datetime(2026, 3, 16, 14, 20, tzinfo=UTC)


def test_unknown_number_inside_a_200_is_not_found_not_an_error() -> None:
    assert parse_tracking(load("track_not_found.json"), ["618357902426"]) == [
        TrackingResult.not_found("618357902426")
    ]


def test_batch_answers_each_number_in_the_callers_order_and_spelling() -> None:
    body = load("track_batch_mixed.json")
    asked = ["910273645101", "5720 3948 1166", "804715293686", "123456789012"]
    invalid, missing_text, delivered, absent = parse_tracking(body, asked)
    assert (invalid.outcome, invalid.tracking_number) == ("error", "910273645101")
    assert "TRACKING.TRACKINGNUMBER.INVALID" in (invalid.error or "")
    assert missing_text == TrackingResult.not_found("5720 3948 1166")
    assert (delivered.outcome, delivered.scans[-1].status) == ("found", S.DELIVERED)
    assert absent == TrackingResult.failed(
        "123456789012", "FedEx returned no result for this number"
    )


def test_reused_number_answers_with_the_shipment_scanned_most_recently() -> None:
    [result] = parse_tracking(load("track_duplicate.json"), ["703561298476"])
    assert [s.occurred_at.year for s in result.scans] == [2026, 2026, 2026]
    assert result.scans[-1].location.city == "GUANGZHOU"


def test_shipment_level_delay_flags_only_the_newest_scan() -> None:
    body = load("track_duplicate.json")
    current = body["output"]["completeTrackResults"][0]["trackResults"][1]
    current["latestStatusDetail"]["delayDetail"] = {"status": "DELAYED"}
    [result] = parse_tracking(body, ["703561298476"])
    assert [s.carrier_delay for s in result.scans] == [False, False, True]


def test_delay_detail_on_time_or_early_is_not_a_delay() -> None:
    body = load("track_in_transit.json")
    events = body["output"]["completeTrackResults"][0]["trackResults"][0]["scanEvents"]
    events[1]["delayDetail"] = {"type": "GENERAL", "status": "ON_TIME"}
    events[2]["delayDetail"] = {"type": "GENERAL"}  # a type without status: FedEx's DY shape
    [result] = parse_tracking(body, ["392048175502910"])
    arrived, on_the_way = result.scans[-2], result.scans[-3]
    assert arrived.carrier_delay is False
    assert on_the_way.carrier_delay is True


def test_status_codes_map_by_table_and_unknown_codes_are_counted() -> None:
    assert status_for("Ow") is S.IN_TRANSIT
    assert status_for("HP") is S.AVAILABLE_FOR_PICKUP
    assert status_for("CA") is S.CANCELLED
    before = unmapped_codes[("fedex", "ZQ")]
    assert status_for("ZQ", "Something new") is S.UNKNOWN
    assert unmapped_codes[("fedex", "ZQ")] == before + 1


def test_scan_without_event_type_falls_back_to_the_derived_code() -> None:
    body = load("track_delivered.json")
    events = body["output"]["completeTrackResults"][0]["trackResults"][0]["scanEvents"]
    events[0]["eventType"] = ""
    [result] = parse_tracking(body, ["794829135608"])
    assert (result.scans[-1].raw_code, result.scans[-1].status) == ("DL", S.DELIVERED)


def test_one_unreadable_scan_date_fails_only_that_number() -> None:
    body = load("track_batch_mixed.json")
    found = body["output"]["completeTrackResults"][0]["trackResults"][0]
    found["scanEvents"][2]["date"] = "yesterday afternoon"
    broken, missing, _ = parse_tracking(body, ["804715293686", "572039481166", "910273645101"])
    assert broken.outcome == "error"
    assert "yesterday afternoon" in (broken.error or "")
    assert missing.outcome == "not_found"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([], "not a JSON object"),
        ({"transactionId": "x"}, "no 'output'"),
        ({"output": {"completeTrackResults": {"trackingNumber": "1"}}}, "not a list"),
        (load("error_auth.json"), "NOT.AUTHORIZED.ERROR"),
    ],
)
def test_bodies_without_the_track_shape_are_malformed(body: Any, needle: str) -> None:
    with pytest.raises(CarrierMalformedResponse, match="unexpected FedEx") as caught:
        parse_tracking(body, ["794829135608"])
    assert needle in caught.value.message


def test_every_fixture_case_parses_to_its_recorded_outcomes() -> None:
    for case in json.loads((FIXTURES / "cases.json").read_text()):
        results = parse_tracking(load(case["file"]), case["numbers"])
        assert [r.outcome for r in results] == case["outcomes"], case["file"]
        first = results[0]
        last = first.scans[-1].status.value if first.scans else None
        assert last == case["last_status"], case["file"]


# --------------------------------------------------------------------------- robustness

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
TRACK_FILES = sorted(p.name for p in FIXTURES.glob("track_*.json"))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return body


@given(body=JSON)
def test_arbitrary_json_raises_nothing_but_malformed(body: Any) -> None:
    try:
        results = parse_tracking(body, ["794829135608", "618357902426"])
    except CarrierMalformedResponse:
        return
    assert [r.tracking_number for r in results] == ["794829135608", "618357902426"]


@given(name=st.sampled_from(TRACK_FILES), pick=st.integers(min_value=0), value=JSON)
def test_mutated_fixtures_raise_nothing_but_malformed(name: str, pick: int, value: Any) -> None:
    original = load(name)
    paths = _paths(original)
    body = _replace(copy.deepcopy(original), paths[pick % len(paths)], value)
    numbers = [c["trackingNumber"] for c in original["output"]["completeTrackResults"]]
    try:
        results = parse_tracking(body, numbers)
    except CarrierMalformedResponse:
        return
    assert len(results) == len(numbers)
    for result in results:
        assert all(s.occurred_at.tzinfo is UTC for s in result.scans)


# --------------------------------------------------------------------------- the adapter


def test_adapter_satisfies_the_contract_with_fedex_limits_from_settings() -> None:
    fedex = FedexAdapter(settings(requests_per_second=50, max_concurrency=2, daily_quota=5000))
    assert isinstance(fedex, CarrierAdapter)
    assert (fedex.code, fedex.name) == ("fedex", "FedEx")
    caps = fedex.capabilities
    assert (caps.batch_size, caps.requests_per_second) == (30, 50)
    assert (caps.max_concurrency, caps.daily_quota) == (2, 5000)


def test_settings_come_from_rt_fedex_environment_with_documented_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RT_FEDEX_CLIENT_ID", "from-env-id")
    monkeypatch.setenv("RT_FEDEX_CLIENT_SECRET", "from-env-secret")
    loaded = FedexSettings()
    assert loaded.client_id == SecretStr("from-env-id")
    assert loaded.base_url == "https://apis.fedex.com"
    assert (loaded.requests_per_second, loaded.daily_quota) == (140.0, 100_000)
    assert FedexAdapter(loaded).configured is True


def test_public_tracking_link_and_number_detection() -> None:
    fedex = adapter()
    assert fedex.tracking_url("7948 2913 5608") == (
        "https://www.fedex.com/fedextrack/?trknbr=794829135608"
    )
    for valid in ("794829135608", "392048175502910", "9611020987654312345672", "7948-2913-5608"):
        assert fedex.matches(valid), valid
    for invalid in (
        "794829135609",
        "392048175502911",
        "1Z999AA10123456784",
        "12345",
        "ABCDEFGHIJKL",
    ):
        assert not fedex.matches(invalid), invalid


@pytest.mark.anyio
async def test_unconfigured_adapter_names_the_missing_variable_and_calls_nothing() -> None:
    fedex = adapter(client_secret=None)
    assert fedex.configured is False
    with respx.mock(base_url=BASE_URL) as router:
        with pytest.raises(CarrierAuthError, match="RT_FEDEX_CLIENT_SECRET"):
            await fedex.fetch(queries("794829135608"))
        assert not router.calls
    await fedex.aclose()


@pytest.mark.anyio
async def test_fetch_gets_a_token_then_tracks_with_it() -> None:
    fedex = adapter()
    with respx.mock(base_url=BASE_URL) as router:
        token = router.post("/oauth/token").respond(200, json=TOKEN)
        track = router.post("/track/v1/trackingnumbers").respond(
            200, json=load("track_delivered.json")
        )
        [result] = await fedex.fetch(queries("7948 2913 5608"))
        await fedex.fetch(queries("7948 2913 5608"))
    assert result.tracking_number == "7948 2913 5608"
    assert result.scans[-1].status is S.DELIVERED
    form = parse_qs(token.calls.last.request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["l7xx-project-key"],
        "client_secret": ["project-secret"],
    }
    assert token.call_count == 1  # cached for the second fetch
    sent = track.calls.last.request
    assert sent.headers["Authorization"] == "Bearer tok-1"
    assert json.loads(sent.content)["trackingInfo"] == [
        {"trackingNumberInfo": {"trackingNumber": "794829135608"}}
    ]
    assert fedex.health().last_success_at is not None
    await fedex.aclose()


@pytest.mark.anyio
async def test_fetch_reports_unknown_numbers_as_not_found() -> None:
    fedex = adapter()
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/oauth/token").respond(200, json=TOKEN)
        router.post("/track/v1/trackingnumbers").respond(200, json=load("track_not_found.json"))
        results = await fedex.fetch(queries("618357902426"))
    assert results == [TrackingResult.not_found("618357902426")]
    await fedex.aclose()


@pytest.mark.anyio
async def test_expired_token_is_renewed_once_and_the_call_retried() -> None:
    fedex = adapter()
    with respx.mock(base_url=BASE_URL) as router:
        token = router.post("/oauth/token")
        token.side_effect = [httpx.Response(200, json=TOKEN), httpx.Response(200, json=TOKEN_2)]
        track = router.post("/track/v1/trackingnumbers")
        track.side_effect = [
            httpx.Response(401, json=load("error_auth.json")),
            httpx.Response(200, json=load("track_delivered.json")),
        ]
        [result] = await fedex.fetch(queries("794829135608"))
    assert result.outcome == "found"
    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in track.calls] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    await fedex.aclose()


@pytest.mark.anyio
async def test_second_401_is_an_auth_error() -> None:
    fedex = adapter()
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/oauth/token").respond(200, json=TOKEN)
        track = router.post("/track/v1/trackingnumbers").respond(401, json=load("error_auth.json"))
        with pytest.raises(CarrierAuthError, match="401"):
            await fedex.fetch(queries("794829135608"))
    assert track.call_count == 2
    await fedex.aclose()


@pytest.mark.anyio
async def test_refused_client_credentials_are_an_auth_error() -> None:
    fedex = adapter()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.post("/oauth/token").respond(401, json=load("error_oauth_credentials.json"))
        track = router.post("/track/v1/trackingnumbers")
        with pytest.raises(CarrierAuthError, match="token request refused"):
            await fedex.fetch(queries("794829135608"))
    assert not track.called
    await fedex.aclose()


@pytest.mark.anyio
async def test_429_is_rate_limited_with_fedex_retry_after() -> None:
    fedex = adapter()
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/oauth/token").respond(200, json=TOKEN)
        router.post("/track/v1/trackingnumbers").respond(
            429, json=load("error_rate_limited.json"), headers={"Retry-After": "7"}
        )
        with pytest.raises(CarrierRateLimited) as caught:
            await fedex.fetch(queries("794829135608"))
    assert caught.value.retry_after == 7.0
    await fedex.aclose()


@pytest.mark.anyio
async def test_503_is_carrier_unavailable() -> None:
    fedex = adapter()
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/oauth/token").respond(200, json=TOKEN)
        router.post("/track/v1/trackingnumbers").respond(503, json=load("error_unavailable.json"))
        with pytest.raises(CarrierUnavailable, match="503"):
            await fedex.fetch(queries("794829135608"))
    assert fedex.health().last_error == "HTTP 503"
    await fedex.aclose()


@pytest.mark.anyio
async def test_truncated_body_is_malformed_with_the_raw_text_kept() -> None:
    fedex = adapter()
    raw = (FIXTURES / "malformed.txt").read_bytes()
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/oauth/token").respond(200, json=TOKEN)
        router.post("/track/v1/trackingnumbers").respond(200, content=raw)
        with pytest.raises(CarrierMalformedResponse) as caught:
            await fedex.fetch(queries("794829135608"))
    assert caught.value.raw.startswith('{"transactionId"')
    await fedex.aclose()


@pytest.mark.anyio
async def test_404_saying_not_found_marks_every_number_not_found_else_errors() -> None:
    fedex = adapter()
    not_found = {
        "transactionId": "t",
        "errors": [{"code": "TRACKING.TRACKINGNUMBER.NOTFOUND", "message": "not found"}],
    }
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/oauth/token").respond(200, json=TOKEN)
        track = router.post("/track/v1/trackingnumbers")
        track.side_effect = [
            httpx.Response(404, json=not_found),
            httpx.Response(404, json={"errors": [{"code": "NOT.FOUND.ERROR"}]}),
            httpx.Response(404, text="<html><body>Not Found</body></html>"),
        ]
        results = await fedex.fetch(queries("618357902426", "572039481166"))
        with pytest.raises(CarrierError, match=r"NOT\.FOUND\.ERROR"):
            await fedex.fetch(queries("618357902426"))
        with pytest.raises(CarrierError, match="Not Found</body>"):
            await fedex.fetch(queries("618357902426"))
    assert [r.outcome for r in results] == ["not_found", "not_found"]
    await fedex.aclose()


@pytest.mark.anyio
async def test_more_than_thirty_queries_are_split_into_calls_of_thirty() -> None:
    fedex = adapter()
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked = [
            i["trackingNumberInfo"]["trackingNumber"]
            for i in json.loads(request.content)["trackingInfo"]
        ]
        seen.append(len(asked))
        error = {"code": "TRACKING.TRACKINGNUMBER.NOTFOUND", "message": "cannot be found"}
        complete = [{"trackingNumber": n, "trackResults": [{"error": error}]} for n in asked]
        return httpx.Response(200, json={"output": {"completeTrackResults": complete}})

    numbers = [f"{n:012d}" for n in range(31)]
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/oauth/token").respond(200, json=TOKEN)
        router.post("/track/v1/trackingnumbers").mock(side_effect=answer)
        results = await fedex.fetch(queries(*numbers))
        assert await fedex.fetch([]) == []
    assert seen == [30, 1]
    assert [r.tracking_number for r in results] == numbers
    assert {r.outcome for r in results} == {"not_found"}
    await fedex.aclose()
