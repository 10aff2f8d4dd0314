"""China Post over 17TRACK: number detection, public page, fixtures parsed, fetch via respx."""

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
from adapters.china_post import (
    CHINA_POST_KEY,
    ChinaPostAdapter,
    ChinaPostSettings,
    build_request,
    parse_tracking,
)
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
EPACKET = "LX228174608CN"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def china_post(**overrides: Any) -> ChinaPostAdapter:
    return ChinaPostAdapter(ChinaPostSettings(**configured_settings(**overrides)), policy=NO_RETRY)


def parse(name: str) -> Any:
    case = next(c for c in load("china_post", "cases.json") if c["file"] == name)
    return parse_tracking(load("china_post", name), case["numbers"])


# --- the adapter's identity -------------------------------------------------------------


def test_adapter_satisfies_the_contract_with_40_numbers_a_call() -> None:
    adapter = china_post()
    assert isinstance(adapter, CarrierAdapter)
    assert (adapter.code, adapter.name) == ("china_post", "China Post")
    assert adapter.capabilities.batch_size == 40
    assert adapter.configured


@pytest.mark.parametrize(
    "number",
    [
        "RR628401739CN",  # registered letter
        "LX228174608CN",  # ePacket
        "lp 519283744 cn",  # tracked letter, as a customer pastes it
        "CP481703921CN",  # parcel
        "UA104927552CN",  # letter post under customs
    ],
)
def test_chinese_international_mail_matches(number: str) -> None:
    assert china_post().matches(number)


@pytest.mark.parametrize(
    "number",
    [
        "LX228174607CN",  # check digit corrupted
        "LX228174068CN",  # serial digits swapped
        "EA473124829CN",  # EMS: the EMS adapter's
        "RR628401739GB",  # registered letter of another post
        "QA123456785CN",  # IBRS reply item, never tracked
        "AB123456785CN",  # domestic service indicator
        "RR62840173CN",  # one digit short
        "",
    ],
)
def test_other_or_corrupted_numbers_do_not_match(number: str) -> None:
    assert not china_post().matches(number)


def test_tracking_url_is_china_posts_international_query_page() -> None:
    assert china_post().tracking_url("lx 228174608 cn") == (
        "https://yjcx.ems.com.cn/qps/english/yjcx?mailNo=LX228174608CN"
    )


def test_request_names_the_china_post_carrier_key() -> None:
    body = build_request([EPACKET, "RR628401739CN"], china_post().carrier_key_of)
    assert body == [
        {"number": EPACKET, "carrier": CHINA_POST_KEY},
        {"number": "RR628401739CN", "carrier": CHINA_POST_KEY},
    ]
    assert CHINA_POST_KEY == 3011


# --- fixtures parsed --------------------------------------------------------------------


def test_cases_file_lists_every_tracking_fixture_and_holds() -> None:
    cases = load("china_post", "cases.json")
    assert sorted(c["file"] for c in cases) == track_fixtures("china_post")
    for case in cases:
        results = parse_tracking(load("china_post", case["file"]), case["numbers"])
        assert [r.outcome for r in results] == case["outcomes"]
        last = results[0].scans[-1].status.value if results[0].scans else None
        assert last == case["last_status"]


def test_epacket_delivered_after_a_missed_delivery_and_a_pickup_notice() -> None:
    (result,) = parse("track_delivered.json")
    assert [s.status for s in result.scans][-4:] == [
        S.OUT_FOR_DELIVERY,
        S.FAILED_ATTEMPT,
        S.AVAILABLE_FOR_PICKUP,
        S.DELIVERED,
    ]
    missed = result.scans[-3]
    assert missed.exception_reason == "Recipient not available"
    assert missed.raw_text == "Notice Left (No Authorized Recipient Available)"
    assert missed.raw_timestamp == "2025-05-16T10:05:00-05:00"
    assert missed.occurred_at == datetime(2025, 5, 16, 15, 5, tzinfo=UTC)
    assert missed.location == Location("CHICAGO", "IL", "60614", "US")
    departure = result.scans[3]
    assert (departure.status, departure.raw_code) == (S.IN_TRANSIT, "EMC")
    assert departure.occurred_at == datetime(2025, 5, 8, 17, 35, tzinfo=UTC)


def test_registered_letter_in_transit_in_germany() -> None:
    (result,) = parse("track_in_transit.json")
    released, sorted_in_leipzig = result.scans[-2:]
    assert (released.status, released.raw_code) == (S.IN_TRANSIT, "InTransit_CustomsReleased")
    assert sorted_in_leipzig.occurred_at == datetime(2025, 10, 26, 4, 31, tzinfo=UTC)
    assert sorted_in_leipzig.location == Location("Leipzig", "Sachsen", "04435", "DE")


def test_customs_asking_for_duties_is_a_customs_hold_with_its_reason() -> None:
    (result,) = parse("track_customs_hold.json")
    held = result.scans[-1]
    assert (held.status, held.raw_code) == (S.CUSTOMS_HOLD, "InTransit_CustomsRequiringInformation")
    assert held.exception_reason == "Customs requires information"
    assert held.occurred_at == datetime(2025, 11, 12, 14, 3, tzinfo=UTC)


def test_insufficient_address_is_an_exception() -> None:
    (result,) = parse("track_exception.json")
    alert = result.scans[-1]
    assert (alert.status, alert.exception_reason) == (S.EXCEPTION, "Recipient cannot be found")
    assert alert.location == Location("BROOKLYN", "NY", "11201", "US")
    assert alert.occurred_at == datetime(2025, 8, 12, 20, 20, tzinfo=UTC)


def test_uncollected_letter_goes_back_to_the_sender() -> None:
    (result,) = parse("track_returned.json")
    returning, returned = result.scans[-2:]
    assert (returning.status, returning.raw_code) == (S.RETURNED_TO_SENDER, "Exception_Returning")
    assert (returned.status, returned.exception_reason) == (
        S.RETURNED_TO_SENDER,
        "Returned to sender",
    )
    assert returned.location.country == "CN"


def test_not_found_answers_are_not_found() -> None:
    assert [r.outcome for r in parse("track_not_found.json")] == ["not_found", "not_found"]


def test_one_batch_mixes_found_not_registered_and_refused_numbers() -> None:
    results = parse("track_batch.json")
    assert [(r.tracking_number, r.outcome) for r in results] == [
        ("RB350192862CN", "found"),
        ("LX228174608CN", "not_found"),
        ("RR12345678CN", "error"),
    ]


@given(st.data())
def test_mutated_fixtures_raise_only_malformed(data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(load("china_post", "cases.json")))
    body = mutated(data, load("china_post", case["file"]))
    try:
        results = parse_tracking(body, case["numbers"])
    except CarrierMalformedResponse:
        return
    assert [r.tracking_number for r in results] == case["numbers"]


@given(JSON_VALUES)
def test_arbitrary_json_raises_only_malformed(body: Any) -> None:
    with contextlib.suppress(CarrierMalformedResponse):
        parse_tracking(body, [EPACKET])


# --- fetch through respx ----------------------------------------------------------------


def registered(*numbers: str) -> dict[str, Any]:
    return {"code": 0, "data": {"accepted": [{"number": n} for n in numbers], "rejected": []}}


@pytest.mark.anyio
async def test_fetch_registers_then_tracks_and_returns_scans() -> None:
    adapter = china_post()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=registered(EPACKET))
        info = mock.post(GETTRACKINFO_PATH).respond(
            200, json=load("china_post", "track_delivered.json")
        )
        (result,) = await adapter.fetch([TrackingQuery(EPACKET)])
    assert (result.tracking_number, result.outcome) == (EPACKET, "found")
    assert result.scans[-1].status is S.DELIVERED
    assert json.loads(info.calls[0].request.content) == [{"number": EPACKET, "carrier": 3011}]
    await adapter.aclose()


@pytest.mark.anyio
async def test_fetch_reports_not_found_numbers_as_data() -> None:
    adapter = china_post()
    numbers = ["LX703952185CN", "UA104927552CN"]
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=registered(*numbers))
        mock.post(GETTRACKINFO_PATH).respond(200, json=load("china_post", "track_not_found.json"))
        results = await adapter.fetch([TrackingQuery(n) for n in numbers])
    assert [r.outcome for r in results] == ["not_found", "not_found"]
    await adapter.aclose()


@pytest.mark.anyio
async def test_unconfigured_fetch_names_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RT_17TRACK_API_KEY", raising=False)
    adapter = ChinaPostAdapter()
    assert not adapter.configured
    with pytest.raises(CarrierAuthError, match="RT_17TRACK_API_KEY"):
        await adapter.fetch([TrackingQuery(EPACKET)])
    await adapter.aclose()


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(401, json=load("china_post", "error_auth.json")), CarrierAuthError),
        (httpx.Response(200, json=load("china_post", "error_quota.json")), CarrierRateLimited),
        (httpx.Response(502, text="Bad Gateway"), CarrierUnavailable),
        (
            httpx.Response(200, content=(FIXTURES / "china_post" / "malformed.txt").read_bytes()),
            CarrierMalformedResponse,
        ),
    ],
)
@pytest.mark.anyio
async def test_whole_call_failures_raise_typed_errors(
    response: httpx.Response, error: type[Exception]
) -> None:
    adapter = china_post()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=registered(EPACKET))
        mock.post(GETTRACKINFO_PATH).mock(return_value=response)
        with pytest.raises(error):
            await adapter.fetch([TrackingQuery(EPACKET)])
    await adapter.aclose()


@pytest.mark.anyio
async def test_429_is_rate_limited_with_the_carriers_retry_after() -> None:
    adapter = china_post()
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post(REGISTER_PATH).respond(200, json=registered(EPACKET))
        mock.post(GETTRACKINFO_PATH).respond(429, headers={"Retry-After": "12"})
        with pytest.raises(CarrierRateLimited) as raised:
            await adapter.fetch([TrackingQuery(EPACKET)])
    assert raised.value.retry_after == 12.0
    await adapter.aclose()
