"""SF Express over 17TRACK: SF + 13 digits detected, the bare 12 digits only a candidate."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from adapters import registry
from adapters._17track import GETTRACKINFO_PATH, REGISTER_PATH, SeventeenTrackSettings
from adapters._http import NO_RETRY
from adapters.base import CarrierAdapter, LooseFormats, ScanStatus, TrackingQuery
from adapters.sf_express import SF_EXPRESS_KEY, SfExpressAdapter, build_request, parse_tracking
from tests.adapters.test_17track import BASE_URL, configured_settings, load

S = ScanStatus
DELIVERED = "SF1402736915048"  # the number in track_delivered.json
BARE = "702419385561"  # the older 12-digit form, in track_in_transit.json; FedEx's check fails


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sf() -> SfExpressAdapter:
    return SfExpressAdapter(SeventeenTrackSettings(**configured_settings()), policy=NO_RETRY)


def parse(name: str) -> Any:
    case = next(c for c in load("sf_express", "cases.json") if c["file"] == name)
    return parse_tracking(load("sf_express", name), case["numbers"])


def test_adapter_is_an_express_carrier_with_40_numbers_a_call() -> None:
    adapter = sf()
    assert isinstance(adapter, CarrierAdapter)
    assert isinstance(adapter, LooseFormats)
    assert (adapter.code, adapter.name, adapter.network) == ("sf_express", "SF Express", "express")
    assert adapter.capabilities.batch_size == 40


@pytest.mark.parametrize("number", [DELIVERED, "sf 1402 7369 15048"])
def test_sf_and_13_digits_is_sf_express_alone(number: str) -> None:
    assert sf().matches(number)
    assert registry.identify(number) == ["sf_express"]


def test_the_bare_12_digits_are_a_candidate_never_a_detection() -> None:
    adapter = sf()
    assert not adapter.matches(BARE)
    assert adapter.could_match(BARE)
    assert registry.identify(BARE) == []
    assert registry.loose_candidates(BARE) == ["sf_express"]


def test_a_12_digit_number_whose_fedex_check_digit_holds_is_fedex() -> None:
    """Where a check digit exists it decides; SF stays a loose candidate beside it."""
    assert registry.identify("123456789012") == ["fedex"]
    assert registry.loose_candidates("123456789012") == ["sf_express"]


@pytest.mark.parametrize("number", ["SF140273691504", "SF14027369150481", "SX1402736915048"])
def test_other_shapes_are_not_sf_express(number: str) -> None:
    assert not sf().matches(number)
    assert not sf().could_match(number)


def test_tracking_url_is_sfs_waybill_search() -> None:
    assert sf().tracking_url("sf 1402736915048") == (
        "https://www.sf-express.com/us/en/dynamic_function/waybill/#search/bill-number/"
        "SF1402736915048"
    )


def test_request_names_the_sf_express_key_for_every_number() -> None:
    body = build_request([DELIVERED, BARE], sf().carrier_key_of)
    assert body == [{"number": DELIVERED, "carrier": 100012}, {"number": BARE, "carrier": 100012}]
    assert SF_EXPRESS_KEY == 100012


def test_delivered_shipment_went_through_customs_in_both_countries() -> None:
    (result,) = parse("track_delivered.json")
    assert [s.raw_code for s in result.scans].count("InTransit_CustomsReleased") == 2
    assert result.scans[0].status is S.ACCEPTED
    assert result.scans[-1].status is S.DELIVERED
    assert result.scans[-1].location.city == "San Diego"


def test_customs_asking_for_the_id_and_a_refusal_sent_back_keep_their_reasons() -> None:
    (held,) = parse("track_customs_hold.json")
    (returned,) = parse("track_returned.json")
    assert (held.scans[-1].status, held.scans[-1].exception_reason) == (
        S.CUSTOMS_HOLD,
        "Customs requires information",
    )
    assert [s.status for s in returned.scans][-2:] == [S.FAILED_ATTEMPT, S.RETURNED_TO_SENDER]


@pytest.mark.anyio
async def test_fetch_sends_the_sf_express_key_with_each_number() -> None:
    adapter = sf()
    with respx.mock(base_url=BASE_URL) as mock:
        register = mock.post(REGISTER_PATH).respond(
            200, json={"code": 0, "data": {"accepted": [{"number": BARE}], "rejected": []}}
        )
        info = mock.post(GETTRACKINFO_PATH).respond(
            200, json=load("sf_express", "track_in_transit.json")
        )
        (result,) = await adapter.fetch([TrackingQuery(BARE)])
    assert (result.outcome, result.scans[-1].status) == ("found", S.IN_TRANSIT)
    expected = [{"number": BARE, "carrier": 100012}]
    assert json.loads(register.calls[0].request.content) == expected
    assert json.loads(info.calls[0].request.content) == expected
    await adapter.aclose()
