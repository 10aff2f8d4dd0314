"""TNT over 17TRACK: its three number forms, its public page, its key on every number."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from adapters import registry
from adapters._17track import GETTRACKINFO_PATH, REGISTER_PATH, SeventeenTrackSettings
from adapters._http import NO_RETRY
from adapters.base import CarrierAdapter, ScanStatus, TrackingQuery
from adapters.tnt import TNT_KEY, TntAdapter, build_request, parse_tracking
from tests.adapters.test_17track import BASE_URL, configured_settings, load

S = ScanStatus
DELIVERED = "324518075"  # the number in track_delivered.json
WORLDWIDE = "GD709382646WW"  # the number in track_in_transit.json


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def tnt() -> TntAdapter:
    return TntAdapter(SeventeenTrackSettings(**configured_settings()), policy=NO_RETRY)


def parse(name: str) -> Any:
    case = next(c for c in load("tnt", "cases.json") if c["file"] == name)
    return parse_tracking(load("tnt", name), case["numbers"])


def test_adapter_is_an_express_carrier_with_40_numbers_a_call() -> None:
    adapter = tnt()
    assert isinstance(adapter, CarrierAdapter)
    assert (adapter.code, adapter.name, adapter.network) == ("tnt", "TNT", "express")
    assert adapter.capabilities.batch_size == 40


@pytest.mark.parametrize(
    "number",
    [
        DELIVERED,  # 9 digits, S10 check digit
        WORLDWIDE,  # two letters, the 9 digits, WW
        "gd 709 382 646 ww",  # as a customer pastes it
        "56799360",  # 8 digits: no check digit
    ],
)
def test_tnt_numbers_are_tnts_alone(number: str) -> None:
    assert tnt().matches(number)
    assert registry.identify(number) == ["tnt"]


@pytest.mark.parametrize(
    "number",
    [
        "324518076",  # check digit corrupted
        "GD709382647WW",  # check digit corrupted
        "3245180751",  # 10 digits: DHL's length, not TNT's
        "GD709382646NL",  # an S10 number of a post
    ],
)
def test_corrupted_or_foreign_numbers_are_not_tnts(number: str) -> None:
    assert not tnt().matches(number)


def test_a_ww_number_goes_to_tnt_even_with_an_ems_service_indicator() -> None:
    """S10-shaped with a valid check digit, but WW is no post's country: TNT before S10."""
    assert registry.identify("EE123456785WW") == ["tnt"]
    assert registry.identify("EE123456785CN") == ["ems"]


def test_tracking_url_is_tnts_consignment_search() -> None:
    assert tnt().tracking_url("gd 709382646 ww") == (
        "https://www.tnt.com/express/en_gc/site/shipping-tools/tracking.html"
        "?searchType=con&cons=GD709382646WW"
    )


def test_request_names_the_tnt_key_for_every_number() -> None:
    body = build_request([DELIVERED, WORLDWIDE], tnt().carrier_key_of)
    assert body == [
        {"number": DELIVERED, "carrier": 100004},
        {"number": WORLDWIDE, "carrier": 100004},
    ]
    assert TNT_KEY == 100004


def test_delivered_consignment_crosses_three_countries_in_utc_order() -> None:
    (result,) = parse("track_delivered.json")
    scans = result.scans
    assert [s.status for s in scans] == [
        S.ACCEPTED,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    assert [s.location.country for s in scans[::3]] == ["CN", "BE", "NL"]
    assert scans[-1].raw_timestamp == "2025-06-05T13:32:00+02:00"
    assert scans[-1].occurred_at.isoformat() == "2025-06-05T11:32:00+00:00"


def test_customs_hold_and_damage_keep_what_17track_said() -> None:
    (held,) = parse("track_customs_hold.json")
    (damaged,) = parse("track_exception.json")
    assert (held.scans[-1].status, held.scans[-1].raw_code) == (
        S.CUSTOMS_HOLD,
        "InTransit_CustomsProcessing",
    )
    assert (damaged.scans[-1].status, damaged.scans[-1].exception_reason) == (
        S.EXCEPTION,
        "Damaged",
    )


@pytest.mark.anyio
async def test_fetch_registers_and_tracks_with_the_tnt_key() -> None:
    adapter = tnt()
    with respx.mock(base_url=BASE_URL) as mock:
        register = mock.post(REGISTER_PATH).respond(
            200, json={"code": 0, "data": {"accepted": [{"number": DELIVERED}], "rejected": []}}
        )
        info = mock.post(GETTRACKINFO_PATH).respond(200, json=load("tnt", "track_delivered.json"))
        (result,) = await adapter.fetch([TrackingQuery(DELIVERED)])
    assert (result.outcome, result.scans[-1].status) == ("found", S.DELIVERED)
    expected = [{"number": DELIVERED, "carrier": 100004}]
    assert json.loads(register.calls[0].request.content) == expected
    assert json.loads(info.calls[0].request.content) == expected
    await adapter.aclose()
