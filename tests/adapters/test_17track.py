"""The shared 17TRACK v2.2 client: request bodies, envelope errors, status rules, registration.

Carrier-specific fixtures are read in ``test_ems.py`` and ``test_china_post.py``; the helpers
at the top (JSON strategy, fixture mutation, respx setup) are shared with them.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from adapters._17track import (
    GETTRACKINFO_PATH,
    REGISTER_PATH,
    SeventeenTrackSettings,
    build_request,
    check_envelope,
    parse_register,
    unregistered_numbers,
)
from adapters._17track_parse import (
    MAIN_STATUSES,
    STAGES,
    STATUS_TABLE,
    UPU_EVENTS,
    parse_tracking,
)
from adapters._http import NO_RETRY
from adapters.base import (
    CarrierAuthError,
    CarrierError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    Location,
    ScanStatus,
    TrackingQuery,
    unmapped_codes,
)
from adapters.china_post import ChinaPostAdapter, ChinaPostSettings

FIXTURES = Path(__file__).parent / "fixtures"
BASE_URL = "https://api.17track.net"
S = ScanStatus

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=24,
)
# Values that reach deeper branches than random text would.
TRICKY_VALUES = st.sampled_from(
    [
        "InTransit_Other",
        "Exception_Returned",
        "No_Such_Status",
        "[EMC] Departure",
        "EMI Final delivery",
        "2025-03-05T02:10:00+08:00",
        "2025-03-05T02:10:00",
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59-08:00",
        -18019902,
        -18019901,
        -18019908,
        "CN",
        "",
        [],
        {},
    ]
)


def load(folder: str, name: str) -> Any:
    return json.loads((FIXTURES / folder / name).read_text(encoding="utf-8"))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def mutated(data: st.DataObject, body: Any) -> Any:
    """A copy of ``body`` with one value (anywhere, even the root) replaced by drawn JSON."""
    path = data.draw(st.sampled_from(list(_paths(body))))
    new = data.draw(JSON_VALUES | TRICKY_VALUES)
    if not path:
        return new
    copied = copy.deepcopy(body)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copied


def track_fixtures(folder: str) -> list[str]:
    return sorted(path.name for path in (FIXTURES / folder).glob("track_*.json"))


def configured_settings(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for a configured settings object with pacing off (no real sleeps)."""
    return {"api_key": SecretStr("test-17token"), "requests_per_second": 0, **overrides}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def event(**fields: Any) -> dict[str, Any]:
    base = {
        "time_iso": "2025-03-05T02:10:00+08:00",
        "time_utc": "2025-03-04T18:10:00Z",
        "description": "Departure from outward office of exchange",
        "location": "GUANGZHOU",
        "stage": None,
        "sub_status": "InTransit_Other",
        "address": {"country": "CN", "state": "Guangdong", "city": "Guangzhou"},
    }
    return base | fields


def body_with(*events: dict[str, Any], number: str = "RB350192862CN") -> dict[str, Any]:
    providers = [{"provider": {"key": 3011, "name": "China Post"}, "events": list(events)}]
    item = {"number": number, "carrier": 3011, "track_info": {"tracking": {"providers": providers}}}
    return {"code": 0, "data": {"accepted": [item], "rejected": []}}


def only_scan(*events: dict[str, Any]) -> Any:
    (result,) = parse_tracking(body_with(*events), ["RB350192862CN"], carrier="china_post")
    assert result.outcome == "found"
    return result.scans[-1]


# --- request building -------------------------------------------------------------------


def test_request_body_lists_each_number_with_its_carrier_key() -> None:
    body = build_request(["RB350192862CN", "LX228174608CN"], lambda _number: 3011)
    assert body == [
        {"number": "RB350192862CN", "carrier": 3011},
        {"number": "LX228174608CN", "carrier": 3011},
    ]


def test_request_body_leaves_carrier_out_when_17track_should_detect_it() -> None:
    keys = {"EA473124829CN": 3013, "EJ918302743JP": None}
    body = build_request(list(keys), keys.__getitem__)
    assert body == [{"number": "EA473124829CN", "carrier": 3013}, {"number": "EJ918302743JP"}]


def test_api_paths_are_the_v2_2_register_and_gettrackinfo() -> None:
    assert (REGISTER_PATH, GETTRACKINFO_PATH) == (
        "/track/v2.2/register",
        "/track/v2.2/gettrackinfo",
    )


def test_settings_read_the_documented_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_17TRACK_API_KEY", "from-env")
    monkeypatch.setenv("RT_17TRACK_BASE_URL", "https://17track.test")
    settings = SeventeenTrackSettings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "from-env"
    assert settings.base_url == "https://17track.test"
    monkeypatch.delenv("RT_17TRACK_BASE_URL")
    assert SeventeenTrackSettings().base_url == "https://api.17track.net"


# --- whole-call errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("error_auth.json", CarrierAuthError),
        ("error_quota.json", CarrierRateLimited),
        ("error_internal.json", CarrierUnavailable),
        ("error_invalid_request.json", CarrierError),
    ],
)
def test_envelope_error_codes_raise_their_carrier_error(name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as raised:
        check_envelope(load("ems", name), "ems")
    assert type(raised.value) is error
    assert "17TRACK error -1801" in str(raised.value)


@pytest.mark.parametrize("code", [-18010001, -18010004, -18010005])
def test_ip_whitelist_and_disabled_account_are_auth_errors(code: int) -> None:
    with pytest.raises(CarrierAuthError):
        check_envelope({"code": code, "data": None}, "china_post")


def test_quota_run_out_is_rate_limited() -> None:
    with pytest.raises(CarrierRateLimited):
        check_envelope({"code": -18019908, "data": None}, "china_post")


def test_a_successful_envelope_passes() -> None:
    check_envelope(load("ems", "track_delivered.json"), "ems")


def test_a_body_that_is_not_an_object_is_malformed() -> None:
    with pytest.raises(CarrierMalformedResponse):
        check_envelope(["not", "an", "envelope"], "ems")


# --- registration -----------------------------------------------------------------------


def test_register_counts_already_registered_as_success_and_keeps_refusals() -> None:
    outcome = parse_register(load("ems", "register_accepted.json"), "ems")
    assert outcome.registered == {"EA473124829CN", "EV204819374CN"}
    assert outcome.failed == {
        "EJ918302743JP": "17TRACK refused to register: -18019903 The carrier cannot be detected."
    }
    assert outcome.quota_exhausted is False


def test_register_refused_for_quota_is_flagged() -> None:
    outcome = parse_register(load("ems", "register_quota_exhausted.json"), "ems")
    assert outcome.registered == set()
    assert outcome.quota_exhausted is True
    assert "-18019908" in outcome.failed["EA473124829CN"]


def test_numbers_17track_forgot_are_found_in_the_rejections() -> None:
    body = load("china_post", "track_batch.json")
    assert unregistered_numbers(body) == {"LX228174608CN"}
    assert unregistered_numbers("garbage") == set()


# --- status rules -----------------------------------------------------------------------


def test_every_table_entry_maps_to_a_scan_status() -> None:
    assert len(STATUS_TABLE) == 30
    assert set(MAIN_STATUSES) == {
        "NotFound",
        "InfoReceived",
        "InTransit",
        "Expired",
        "AvailableForPickup",
        "OutForDelivery",
        "DeliveryFailure",
        "Delivered",
        "Exception",
    }
    for table in (MAIN_STATUSES, STATUS_TABLE, STAGES, UPU_EVENTS):
        assert all(isinstance(rule.status, ScanStatus) for rule in table.values())


@pytest.mark.parametrize(
    ("sub_status", "status", "reason"),
    [
        ("InfoReceived", S.INFO_RECEIVED, None),
        ("InTransit_PickedUp", S.ACCEPTED, None),
        ("InTransit_CustomsProcessing", S.CUSTOMS_HOLD, None),
        ("InTransit_CustomsReleased", S.IN_TRANSIT, None),
        ("AvailableForPickup_Other", S.AVAILABLE_FOR_PICKUP, None),
        ("OutForDelivery_Other", S.OUT_FOR_DELIVERY, None),
        ("DeliveryFailure_InvalidAddress", S.FAILED_ATTEMPT, "Incorrect address"),
        ("Delivered_Other", S.DELIVERED, None),
        ("Exception_Returning", S.RETURNED_TO_SENDER, "Returning to sender"),
        ("Exception_Returned", S.RETURNED_TO_SENDER, "Returned to sender"),
        ("Exception_Damage", S.EXCEPTION, "Damaged"),
        ("Exception_Rejected", S.EXCEPTION, "Refused by recipient"),
        ("Exception_Cancel", S.CANCELLED, "Cancelled"),
        ("Expired_Other", S.UNKNOWN, None),
        ("NotFound_Other", S.UNKNOWN, None),
    ],
)
def test_sub_status_sets_the_scan_status(
    sub_status: str, status: ScanStatus, reason: str | None
) -> None:
    scan = only_scan(event(description="Item update", sub_status=sub_status))
    assert (scan.status, scan.exception_reason, scan.raw_code) == (status, reason, sub_status)


def test_announced_delay_stays_in_transit_with_the_delay_flag() -> None:
    scan = only_scan(event(description="Delayed", sub_status="Exception_Delayed"))
    assert (scan.status, scan.carrier_delay, scan.exception_reason) == (
        S.IN_TRANSIT,
        True,
        "Delayed",
    )


def test_stage_decides_when_there_is_no_sub_status() -> None:
    scan = only_scan(event(description="Item update", sub_status=None, stage="PickedUp"))
    assert (scan.status, scan.raw_code) == (S.ACCEPTED, "PickedUp")


def test_unknown_sub_status_is_unknown_and_counted() -> None:
    before = unmapped_codes[("china_post", "InTransit_Teleported")]
    scan = only_scan(event(description="Beamed up", sub_status="InTransit_Teleported"))
    assert (scan.status, scan.raw_code) == (S.UNKNOWN, "InTransit_Teleported")
    assert unmapped_codes[("china_post", "InTransit_Teleported")] == before + 1


def test_event_without_any_code_is_unknown_not_in_transit() -> None:
    scan = only_scan(event(description="Item update", sub_status=None, stage=None))
    assert (scan.status, scan.raw_code) == (S.UNKNOWN, None)


def test_upu_code_wins_over_a_generic_aggregator_guess() -> None:
    scan = only_scan(event(description="[EME] Held by import Customs"))
    assert (scan.status, scan.raw_code, scan.exception_reason) == (
        S.CUSTOMS_HOLD,
        "EME",
        "Held by import customs",
    )


def test_upu_code_opening_the_text_counts_too() -> None:
    scan = only_scan(event(description="EDG Item out for physical delivery"))
    assert (scan.status, scan.raw_code) == (S.OUT_FOR_DELIVERY, "EDG")


def test_specific_aggregator_status_beats_a_plain_movement_code() -> None:
    scan = only_scan(event(description="[EMD] Arrival", sub_status="InTransit_CustomsProcessing"))
    assert (scan.status, scan.raw_code) == (S.CUSTOMS_HOLD, "InTransit_CustomsProcessing")


def test_final_delivery_back_to_the_sender_stays_returned() -> None:
    scan = only_scan(event(description="[EMI] Final delivery", sub_status="Exception_Returned"))
    assert (scan.status, scan.raw_code) == (S.RETURNED_TO_SENDER, "Exception_Returned")


def test_codes_that_are_not_upu_events_are_ignored() -> None:
    scan = only_scan(event(description="Arrived at EMA airport [EMS]"))
    assert (scan.status, scan.raw_code) == (S.IN_TRANSIT, "InTransit_Other")


# --- times and places -------------------------------------------------------------------


def test_time_iso_offset_is_converted_to_utc_and_the_raw_text_kept() -> None:
    scan = only_scan(event(time_iso="2025-06-07T09:26:00+02:00", time_utc=None))
    assert scan.occurred_at == datetime(2025, 6, 7, 7, 26, tzinfo=UTC)
    assert scan.raw_timestamp == "2025-06-07T09:26:00+02:00"


def test_time_utc_is_used_when_time_iso_has_no_offset() -> None:
    scan = only_scan(event(time_iso="2025-06-07T09:26:00", time_utc="2025-06-07T07:26:00Z"))
    assert scan.occurred_at == datetime(2025, 6, 7, 7, 26, tzinfo=UTC)
    assert scan.raw_timestamp == "2025-06-07T07:26:00Z"


def test_event_without_a_usable_time_is_dropped() -> None:
    (result,) = parse_tracking(
        body_with(event(time_iso=None, time_utc="soon")), ["RB350192862CN"], carrier="ems"
    )
    assert result.outcome == "not_found"


def test_location_text_is_used_when_the_address_is_empty() -> None:
    scan = only_scan(event(address={"country": None}, location="GASQUET, CA, us"))
    assert scan.location == Location(city="GASQUET", region="CA", country="US")


def test_country_that_is_not_alpha_2_is_dropped() -> None:
    scan = only_scan(event(address={"country": "China", "city": "Shenzhen"}))
    assert scan.location == Location(city="Shenzhen", country=None)


def test_the_same_event_from_two_providers_is_kept_once() -> None:
    body = body_with(event(), event())
    (result,) = parse_tracking(body, ["RB350192862CN"], carrier="china_post")
    assert len(result.scans) == 1


def test_latest_event_is_used_when_providers_are_missing() -> None:
    item = {"number": "RB350192862CN", "track_info": {"latest_event": event()}}
    body = {"code": 0, "data": {"accepted": [item], "rejected": []}}
    (result,) = parse_tracking(body, ["rb 3501 9286 2cn"], carrier="china_post")
    assert result.tracking_number == "rb 3501 9286 2cn"
    assert [scan.raw_code for scan in result.scans] == ["InTransit_Other"]


def test_number_missing_from_the_answer_is_an_error() -> None:
    (result,) = parse_tracking(body_with(event()), ["LX228174608CN"], carrier="china_post")
    assert (result.outcome, result.error) == ("error", "17TRACK returned nothing for it")


@pytest.mark.parametrize("body", [None, [], {"code": 0}, {"data": {"accepted": {}}}, {"data": {}}])
def test_bodies_without_the_documented_lists_are_malformed(body: Any) -> None:
    with pytest.raises(CarrierMalformedResponse):
        parse_tracking(body, ["RB350192862CN"], carrier="china_post")


# --- arbitrary input never crashes ------------------------------------------------------


@given(JSON_VALUES)
def test_arbitrary_json_raises_only_typed_errors(body: Any) -> None:
    try:
        results = parse_tracking(body, ["RB350192862CN"], carrier="china_post")
    except CarrierMalformedResponse:
        return
    assert len(results) == 1
    for check in (check_envelope, parse_register):
        with contextlib.suppress(CarrierError):
            check(body, "china_post")
    unregistered_numbers(body)


# --- the fetch flow: registration remembered, forgotten numbers registered again ---------


def adapter() -> ChinaPostAdapter:
    return ChinaPostAdapter(ChinaPostSettings(**configured_settings()), policy=NO_RETRY)


@pytest.mark.anyio
async def test_numbers_are_registered_once_per_process() -> None:
    china_post = adapter()
    with respx.mock(base_url=BASE_URL) as mock:
        register = mock.post(REGISTER_PATH).respond(
            200,
            json={"code": 0, "data": {"accepted": [{"number": "RB350192862CN"}], "rejected": []}},
        )
        info = mock.post(GETTRACKINFO_PATH).respond(
            200, json=load("china_post", "track_in_transit.json")
        )
        query = [TrackingQuery("RB350192862CN")]
        first = await china_post.fetch(query)
        second = await china_post.fetch(query)
    assert first == second
    assert register.call_count == 1
    assert info.call_count == 2
    assert json.loads(register.calls[0].request.content) == [
        {"number": "RB350192862CN", "carrier": 3011}
    ]
    assert register.calls[0].request.headers["17token"] == "test-17token"
    await china_post.aclose()


@pytest.mark.anyio
async def test_a_forgotten_number_is_registered_again_and_asked_once_more() -> None:
    china_post = adapter()
    batch = load("china_post", "track_batch.json")
    delivered = load("china_post", "track_delivered.json")
    numbers = ["RB350192862CN", "LX228174608CN", "RR12345678CN"]
    with respx.mock(base_url=BASE_URL) as mock:
        register = mock.post(REGISTER_PATH).respond(
            200, json={"code": 0, "data": {"accepted": [{"number": n} for n in numbers]}}
        )
        info = mock.post(GETTRACKINFO_PATH)
        info.side_effect = [httpx.Response(200, json=batch), httpx.Response(200, json=delivered)]
        results = await china_post.fetch([TrackingQuery(n) for n in numbers])
    assert [r.outcome for r in results] == ["found", "found", "error"]
    assert results[1].scans[-1].status is S.DELIVERED
    assert results[2].error == "17TRACK error -18010012: The format of 'number' is invalid."
    assert json.loads(register.calls[1].request.content) == [
        {"number": "LX228174608CN", "carrier": 3011}
    ]
    assert json.loads(info.calls[1].request.content) == [
        {"number": "LX228174608CN", "carrier": 3011}
    ]
    await china_post.aclose()


@pytest.mark.anyio
async def test_registration_refused_for_one_number_fails_only_that_number() -> None:
    china_post = adapter()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=load("china_post", "register_accepted.json"))
        info = mock.post(GETTRACKINFO_PATH).respond(
            200, json=load("china_post", "track_delivered.json")
        )
        results = await china_post.fetch(
            [TrackingQuery("LX228174608CN"), TrackingQuery("RR12345678CN")]
        )
    assert [r.outcome for r in results] == ["found", "error"]
    assert "-18010012" in (results[1].error or "")
    assert json.loads(info.calls[0].request.content) == [
        {"number": "LX228174608CN", "carrier": 3011}
    ]
    await china_post.aclose()


@pytest.mark.anyio
async def test_quota_refusing_every_registration_is_rate_limited() -> None:
    china_post = adapter()
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.post(REGISTER_PATH).respond(
            200, json=load("china_post", "register_quota_exhausted.json")
        )
        info = mock.post(GETTRACKINFO_PATH)
        with pytest.raises(CarrierRateLimited):
            await china_post.fetch([TrackingQuery("LX228174608CN")])
    assert info.call_count == 0
    await china_post.aclose()


@pytest.mark.anyio
async def test_envelope_error_is_raised_and_shown_in_health() -> None:
    china_post = adapter()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=load("china_post", "error_auth.json"))
        with pytest.raises(CarrierAuthError):
            await china_post.fetch([TrackingQuery("LX228174608CN")])
    health = china_post.health()
    assert health.last_error == "17TRACK error -18010002: Access token is invalid."
    assert health.last_error_at is not None
    await china_post.aclose()
