"""EMS over 17TRACK: number detection, public page, fixtures parsed, fetch through respx."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from adapters._17track import GETTRACKINFO_PATH, REGISTER_PATH
from adapters._http import NO_RETRY
from adapters.base import (
    CarrierAdapter,
    CarrierAuthError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    Location,
    ScanStatus,
    TrackingQuery,
)
from adapters.china_post import ChinaPostAdapter
from adapters.ems import CHINA_EMS_KEY, EmsAdapter, EmsSettings, build_request, parse_tracking
from tests.adapters.test_17track import (
    BASE_URL,
    FIXTURES,
    JSON_VALUES,
    configured_settings,
    load,
    mutated,
    track_fixtures,
)

S = ScanStatus
DELIVERED = "EA473124829CN"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def ems(**overrides: Any) -> EmsAdapter:
    return EmsAdapter(EmsSettings(**configured_settings(**overrides)), policy=NO_RETRY)


def parse(name: str) -> Any:
    case = next(c for c in load("ems", "cases.json") if c["file"] == name)
    return parse_tracking(load("ems", name), case["numbers"])


# --- the adapter's identity -------------------------------------------------------------


def test_adapter_satisfies_the_contract_with_40_numbers_a_call() -> None:
    adapter = ems()
    assert isinstance(adapter, CarrierAdapter)
    assert (adapter.code, adapter.name) == ("ems", "EMS")
    assert adapter.capabilities.batch_size == 40
    assert adapter.capabilities.requests_per_second == 0
    assert EmsAdapter(EmsSettings()).capabilities.requests_per_second == 2.0  # the whole key


@pytest.mark.parametrize(
    "number", ["EA473124829CN", "ee582046138cn", "EJ 9183 0274 3JP", "EE123456785US"]
)
def test_ems_items_of_any_post_match(number: str) -> None:
    assert ems().matches(number)


@pytest.mark.parametrize(
    "number",
    [
        "EA473124828CN",  # check digit corrupted
        "EA473124289CN",  # serial digits swapped
        "RR628401739CN",  # registered letter: China Post's
        "LX228174608CN",  # ePacket: China Post's
        "EA47312482CN",  # one digit short
        "1Z999AA10123456784",  # UPS
        "",
    ],
)
def test_non_ems_or_corrupted_numbers_do_not_match(number: str) -> None:
    assert not ems().matches(number)


@pytest.mark.parametrize(
    "number", ["EA473124829CN", "LX228174608CN", "RR628401739CN", "EJ918302743JP"]
)
def test_ems_and_china_post_never_both_match(number: str) -> None:
    assert not (ems().matches(number) and ChinaPostAdapter().matches(number))


def test_tracking_url_is_china_ems_for_chinese_items_and_the_cooperative_otherwise() -> None:
    adapter = ems()
    assert adapter.tracking_url("ea 473124829cn") == (
        "https://www.ems.com.cn/qps/yjcx?mailNum=EA473124829CN"
    )
    assert adapter.tracking_url("EJ918302743JP") == (
        "https://items.ems.post/api/publicTracking/track?language=EN&itemId=EJ918302743JP"
    )


def test_request_names_china_ems_only_for_chinese_items() -> None:
    adapter = ems()
    body = build_request(["EA473124829CN", "EJ918302743JP"], adapter.carrier_key_of)
    assert body == [
        {"number": "EA473124829CN", "carrier": CHINA_EMS_KEY},
        {"number": "EJ918302743JP"},
    ]
    assert CHINA_EMS_KEY == 3013


# --- fixtures parsed --------------------------------------------------------------------


def test_cases_file_lists_every_tracking_fixture_and_holds() -> None:
    cases = load("ems", "cases.json")
    assert sorted(c["file"] for c in cases) == track_fixtures("ems")
    for case in cases:
        results = parse_tracking(load("ems", case["file"]), case["numbers"])
        assert [r.outcome for r in results] == case["outcomes"]
        last = results[0].scans[-1].status.value if results[0].scans else None
        assert last == case["last_status"]


def test_delivered_journey_has_origin_and_destination_scans_in_utc_order() -> None:
    (result,) = parse("track_delivered.json")
    assert result.tracking_number == DELIVERED
    assert [s.status for s in result.scans] == [
        S.INFO_RECEIVED,
        S.ACCEPTED,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    posting, delivered = result.scans[1], result.scans[-1]
    assert posting.raw_code == "EMA"
    assert posting.raw_text == "[EMA] Posting/Collection"
    assert posting.raw_timestamp == "2025-03-03T16:05:00+08:00"
    assert posting.occurred_at == datetime(2025, 3, 3, 8, 5, tzinfo=UTC)
    assert posting.location == Location("Shenzhen", "Guangdong", "518048", "CN")
    assert delivered.occurred_at == datetime(2025, 3, 11, 17, 47, tzinfo=UTC)
    assert delivered.raw_code == "Delivered_Other"
    assert delivered.location == Location("NEW YORK", "NY", "10001", "US")
    assert all(not s.carrier_delay and s.exception_reason is None for s in result.scans)


def test_in_transit_item_last_seen_arriving_in_the_uk() -> None:
    (result,) = parse("track_in_transit.json")
    last = result.scans[-1]
    assert (last.status, last.raw_code) == (S.IN_TRANSIT, "InTransit_Arrival")
    assert last.location == Location("HOUNSLOW", None, "TW6 3ZZ", "GB")
    assert last.occurred_at == datetime(2025, 2, 15, 4, 12, tzinfo=UTC)


def test_customs_hold_is_read_from_the_upu_codes() -> None:
    (result,) = parse("track_customs_hold.json")
    presented, held = result.scans[-2:]
    assert (presented.status, presented.raw_code) == (S.CUSTOMS_HOLD, "EDB")
    assert (held.status, held.raw_code) == (S.CUSTOMS_HOLD, "EME")
    assert held.exception_reason == "Held by import customs"
    assert held.occurred_at == datetime(2025, 6, 7, 7, 26, tzinfo=UTC)
    assert held.location.country == "DE"


def test_exception_keeps_the_damage_reason_and_the_earlier_delay_flag() -> None:
    (result,) = parse("track_exception.json")
    delayed, damaged = result.scans[-2:]
    assert (delayed.status, delayed.carrier_delay, delayed.exception_reason) == (
        S.IN_TRANSIT,
        True,
        "Delayed",
    )
    assert (damaged.status, damaged.exception_reason) == (S.EXCEPTION, "Damaged")
    assert damaged.occurred_at == datetime(2025, 4, 21, 17, 55, tzinfo=UTC)


def test_refused_item_returns_and_its_final_delivery_is_not_a_delivery() -> None:
    (result,) = parse("track_returned.json")
    statuses = [s.status for s in result.scans]
    assert S.DELIVERED not in statuses
    assert statuses[-4:] == [
        S.EXCEPTION,
        S.RETURNED_TO_SENDER,
        S.RETURNED_TO_SENDER,
        S.RETURNED_TO_SENDER,
    ]
    assert result.scans[-4].exception_reason == "Refused by recipient"
    assert result.scans[-1].raw_text == "[EMI] Final delivery: returned item delivered to sender"


def test_not_found_and_rejected_numbers_are_per_number_outcomes() -> None:
    results = parse("track_not_found.json")
    assert [(r.tracking_number, r.outcome) for r in results] == [
        ("EA734028510CN", "not_found"),
        ("EE802155364CN", "not_found"),
        ("EJ918302743JP", "error"),
    ]
    assert results[2].error == "17TRACK error -18019903: The carrier cannot be detected."


@given(st.data())
def test_mutated_fixtures_raise_only_malformed(data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(load("ems", "cases.json")))
    body = mutated(data, load("ems", case["file"]))
    try:
        results = parse_tracking(body, case["numbers"])
    except CarrierMalformedResponse:
        return
    assert [r.tracking_number for r in results] == case["numbers"]


@given(JSON_VALUES)
def test_arbitrary_json_raises_only_malformed(body: Any) -> None:
    with contextlib.suppress(CarrierMalformedResponse):
        parse_tracking(body, [DELIVERED])


# --- fetch through respx ----------------------------------------------------------------


def registered(*numbers: str) -> dict[str, Any]:
    return {"code": 0, "data": {"accepted": [{"number": n} for n in numbers], "rejected": []}}


@pytest.mark.anyio
async def test_fetch_registers_then_tracks_and_returns_scans() -> None:
    adapter = ems()
    with respx.mock(base_url=BASE_URL) as mock:
        register = mock.post(REGISTER_PATH).respond(200, json=registered(DELIVERED))
        info = mock.post(GETTRACKINFO_PATH).respond(200, json=load("ems", "track_delivered.json"))
        (result,) = await adapter.fetch([TrackingQuery("ea473124829cn")])
    assert result.tracking_number == "ea473124829cn"
    assert result.outcome == "found"
    assert result.scans[-1].status is S.DELIVERED
    expected = [{"number": DELIVERED, "carrier": 3013}]
    assert json.loads(register.calls[0].request.content) == expected
    assert json.loads(info.calls[0].request.content) == expected
    assert info.calls[0].request.headers["17token"] == "test-17token"
    assert adapter.health().last_success_at is not None
    await adapter.aclose()


@pytest.mark.anyio
async def test_fetch_reports_not_found_numbers_as_data() -> None:
    adapter = ems()
    numbers = ["EA734028510CN", "EE802155364CN"]
    body = load("ems", "track_not_found.json")
    body["data"]["rejected"] = body["data"]["rejected"][:1]
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=registered(*numbers))
        mock.post(GETTRACKINFO_PATH).respond(200, json=body)
        results = await adapter.fetch([TrackingQuery(n) for n in numbers])
    assert [r.outcome for r in results] == ["not_found", "not_found"]
    await adapter.aclose()


@pytest.mark.anyio
async def test_unconfigured_fetch_names_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RT_17TRACK_API_KEY", raising=False)
    adapter = EmsAdapter()
    assert not adapter.configured
    with pytest.raises(CarrierAuthError, match="RT_17TRACK_API_KEY"):
        await adapter.fetch([TrackingQuery(DELIVERED)])
    await adapter.aclose()


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(401, json=load("ems", "error_auth.json")), CarrierAuthError),
        (httpx.Response(200, json=load("ems", "error_auth.json")), CarrierAuthError),
        (httpx.Response(200, json=load("ems", "error_quota.json")), CarrierRateLimited),
        (httpx.Response(503, text="Service Unavailable"), CarrierUnavailable),
        (httpx.Response(200, json=load("ems", "error_internal.json")), CarrierUnavailable),
        (
            httpx.Response(200, content=(FIXTURES / "ems" / "malformed.txt").read_bytes()),
            CarrierMalformedResponse,
        ),
    ],
)
@pytest.mark.anyio
async def test_whole_call_failures_raise_typed_errors(
    response: httpx.Response, error: type[Exception]
) -> None:
    adapter = ems()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=registered(DELIVERED))
        mock.post(GETTRACKINFO_PATH).mock(return_value=response)
        with pytest.raises(error):
            await adapter.fetch([TrackingQuery(DELIVERED)])
    await adapter.aclose()


@pytest.mark.anyio
async def test_429_is_rate_limited_with_the_carriers_retry_after() -> None:
    adapter = ems()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(429, headers={"Retry-After": "7"})
        with pytest.raises(CarrierRateLimited) as raised:
            await adapter.fetch([TrackingQuery(DELIVERED)])
    assert raised.value.retry_after == 7.0
    await adapter.aclose()
