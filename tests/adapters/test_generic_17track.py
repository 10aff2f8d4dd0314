"""Any carrier by its 17TRACK key (``17track:<key>``), and one 17TRACK connection per process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import respx

from adapters import registry
from adapters._17track import (
    GETTRACKINFO_PATH,
    REGISTER_PATH,
    SeventeenTrackAccount,
    SeventeenTrackAdapter,
    SeventeenTrackSettings,
)
from adapters._http import NO_RETRY
from adapters.base import CarrierAdapter, CarrierAuthError, ScanStatus, TrackingQuery
from adapters.generic_17track import (
    Generic17TrackAdapter,
    display_name,
    key_code,
    parse_key,
    public_url,
)
from tests.adapters.test_17track import BASE_URL, configured_settings, load

DPD_UK = "15502370914826"  # DPD (UK), key 100010: track_delivered.json
YANWEN = "UG458120937YP"  # Yanwen, key 190012: track_in_transit.json


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def base() -> Generic17TrackAdapter:
    return Generic17TrackAdapter(SeventeenTrackSettings(**configured_settings()), policy=NO_RETRY)


# --- the code and what it says ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "key"), [("17track:100010", 100010), ("17track:7041", 7041), ("17track:007", 7)]
)
def test_a_key_is_a_positive_whole_number_spelt_one_way(code: str, key: int) -> None:
    assert parse_key(code) == key
    assert key_code(key) == code.replace(":007", ":7")


@pytest.mark.parametrize(
    "code",
    ["17track:", "17track:0", "17track:-5", "17track:1e3", "17track: 12", "17track:1234567890"],
)
def test_anything_else_after_the_prefix_is_refused_saying_why(code: str) -> None:
    with pytest.raises(ValueError, match="positive whole number"):
        parse_key(code)
    assert not registry.is_known(code)


def test_keyed_adapter_names_itself_after_its_key() -> None:
    dpd, unknown, yanwen = (base().for_key(k) for k in (100010, 654321, 190012))
    assert isinstance(dpd, CarrierAdapter)
    assert (dpd.code, dpd.name, dpd.network) == (
        "17track:100010",
        "DPD (UK) (17TRACK 100010)",
        "express",
    )
    assert (unknown.name, yanwen.network) == ("17TRACK carrier 654321", "postal")
    assert display_name(3011) == "China Post (17TRACK 3011)"


def test_public_page_is_17tracks_with_the_key_as_fc() -> None:
    assert public_url("15502370914826", 100010) == (
        "https://t.17track.net/en#nums=15502370914826&fc=100010"
    )
    assert registry.tracking_url("17track:100010", "ug 458120937 yp") == (
        "https://t.17track.net/en#nums=UG458120937YP&fc=100010"
    )


def test_no_number_is_ever_identified_as_17track() -> None:
    assert not base().matches(DPD_UK)
    for number in (DPD_UK, YANWEN, "123456789012", "SF1402736915048"):
        assert "17track" not in registry.identify(number)


def test_registry_knows_keyed_codes_without_a_dict_entry() -> None:
    assert registry.is_known("17track:100010")
    assert "17track:100010" not in registry.ADAPTERS
    assert registry.name("17track:190012") == "Yanwen (17TRACK 190012)"
    assert registry.name("no-such-carrier") is None


def test_adapter_for_makes_a_keyed_adapter_on_the_registry_ones_connection() -> None:
    generic = base()
    adapters: dict[str, CarrierAdapter] = {"17track": generic}
    keyed = registry.adapter_for("17track:100010", adapters)
    assert isinstance(keyed, Generic17TrackAdapter)
    assert keyed.code == "17track:100010"
    assert keyed.account is generic.account
    assert registry.adapter_for("17track", adapters) is generic
    assert registry.adapter_for("17track:0", adapters) is None
    assert registry.adapter_for("17track:100010", {}) is None


# --- one 17TRACK connection ----------------------------------------------------------------


def test_build_all_puts_every_17track_carrier_on_one_connection() -> None:
    async def build() -> dict[str, CarrierAdapter]:
        return dict(registry.build_all())

    adapters = asyncio.run(build())
    seventeen = [a for a in adapters.values() if isinstance(a, SeventeenTrackAdapter)]
    codes = sorted(a.code for a in seventeen)
    assert codes == ["17track", "china_post", "ems", "sf_express", "tnt"]
    assert len({id(a.account) for a in seventeen}) == 1
    assert len({id(a.health()) for a in seventeen}) == 1  # one breaker, one last error
    assert seventeen[0].capabilities.requests_per_second == 2.0  # for the whole key


def registered(*numbers: str) -> dict[str, Any]:
    return {"code": 0, "data": {"accepted": [{"number": n} for n in numbers], "rejected": []}}


def _answer(request: httpx.Request) -> httpx.Response:
    [item] = json.loads(request.content)
    if request.url.path == REGISTER_PATH:
        return httpx.Response(200, json=registered(item["number"]))
    name = "track_delivered.json" if item["number"] == DPD_UK else "track_in_transit.json"
    return httpx.Response(200, json=load("17track", name))


@pytest.mark.anyio
async def test_two_keys_share_the_connection_and_each_sends_its_own_key() -> None:
    generic = base()
    dpd, yanwen = generic.for_key(100010), generic.for_key(190012)
    with respx.mock(base_url=BASE_URL) as mock:
        register = mock.post(REGISTER_PATH).mock(side_effect=_answer)
        info = mock.post(GETTRACKINFO_PATH).mock(side_effect=_answer)
        [delivered], [moving] = await asyncio.gather(
            dpd.fetch([TrackingQuery(DPD_UK)]), yanwen.fetch([TrackingQuery(YANWEN)])
        )
        await dpd.fetch([TrackingQuery(DPD_UK)])  # registered once for this key
    assert (delivered.scans[-1].status, moving.scans[-1].status) == (
        ScanStatus.DELIVERED,
        ScanStatus.IN_TRANSIT,
    )
    sent = sorted(json.loads(call.request.content)[0]["carrier"] for call in register.calls)
    assert sent == [100010, 190012]
    asked_for_dpd = [
        json.loads(c.request.content) for c in info.calls if DPD_UK.encode() in c.request.content
    ]
    assert asked_for_dpd == [[{"number": DPD_UK, "carrier": 100010}]] * 2
    assert generic.account.registered == {(DPD_UK, 100010), (YANWEN, 190012)}
    assert dpd.health() is yanwen.health() is generic.health()
    await dpd.aclose()
    assert not generic.account.http.is_closed  # a keyed adapter only borrows it
    await generic.aclose()
    assert generic.account.http.is_closed


@pytest.mark.anyio
async def test_an_unconfigured_key_names_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RT_17TRACK_API_KEY", raising=False)
    account = SeventeenTrackAccount(SeventeenTrackSettings())
    keyed = Generic17TrackAdapter(account=account).for_key(1)
    assert not keyed.configured
    with pytest.raises(CarrierAuthError, match="RT_17TRACK_API_KEY"):
        await keyed.fetch([TrackingQuery(DPD_UK)])
    await keyed.account.aclose()
