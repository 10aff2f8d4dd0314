"""The contract every registered carrier keeps, checked over the registry itself.

Adding a carrier is one module plus one registry entry: this file then checks it satisfies
the protocol, that its fixtures parse to what its ``cases.json`` says, and that identification
stays unambiguous, without being edited.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from adapters import registry
from adapters.base import (
    CarrierAdapter,
    CarrierAuthError,
    CarrierHealth,
    ScanStatus,
    TrackingQuery,
    TrackingResult,
)
from adapters.checkdigits import fill_page
from app.carriers.service import carrier_codes

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL_CARRIERS = [code for code in registry.ADAPTERS if code != "sandbox"]


def _cases(code: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((FIXTURES / code / "cases.json").read_text())
    return cases


def _parse(code: str) -> Any:
    return sys.modules[registry.ADAPTERS[code].__module__].parse_tracking


ALL_CASES = [(code, case) for code in REAL_CARRIERS for case in _cases(code)]


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell holds, these tests see unconfigured carriers."""
    for variable in ("DHL_API_KEY", "FEDEX_CLIENT_ID", "UPS_CLIENT_ID", "17TRACK_API_KEY"):
        monkeypatch.delenv(f"RT_{variable}", raising=False)


@pytest.mark.parametrize("code", list(registry.ADAPTERS))
def test_every_adapter_satisfies_the_protocol(code: str) -> None:
    adapter = registry.build_adapter(code)
    assert isinstance(adapter, CarrierAdapter)
    assert adapter.code == code
    assert adapter.name
    assert adapter.network in ("express", "postal")
    caps = adapter.capabilities
    assert caps.batch_size >= 1
    assert caps.max_concurrency >= 1
    assert caps.requests_per_second >= 0
    assert isinstance(adapter.health(), CarrierHealth)
    assert adapter.tracking_url("X123").startswith("https://")
    assert "X123" in adapter.tracking_url("X123")


@pytest.mark.parametrize("code", REAL_CARRIERS)
def test_every_real_carrier_has_fixtures_for_the_situations_that_matter(code: str) -> None:
    names = {path.name for path in (FIXTURES / code).iterdir()}
    for needed in ("track_delivered.json", "track_not_found.json", "malformed.txt"):
        assert needed in names, f"{code} lacks {needed}"
    assert any(name.startswith("error_") for name in names)
    assert {case["file"] for case in _cases(code)} == {
        name for name in names if name.startswith("track_")
    }


@pytest.mark.parametrize(
    ("code", "case"), ALL_CASES, ids=[f"{c}-{k['file']}" for c, k in ALL_CASES]
)
def test_every_fixture_parses_to_what_its_case_says(code: str, case: dict[str, Any]) -> None:
    body = json.loads((FIXTURES / code / case["file"]).read_text())
    results = _parse(code)(body, case["numbers"])
    assert [r.tracking_number for r in results] == case["numbers"]
    assert [r.outcome for r in results] == case["outcomes"]
    first: TrackingResult = results[0]
    if case["last_status"] is None:
        assert first.scans == ()
    else:
        assert first.scans[-1].status == ScanStatus(case["last_status"])
    for result in results:
        times = [scan.occurred_at for scan in result.scans]
        assert times == sorted(times)
        assert all(moment.utcoffset() == UTC.utcoffset(None) for moment in times)
        assert all(scan.raw_timestamp for scan in result.scans)


@pytest.mark.parametrize(
    ("code", "case"), ALL_CASES, ids=[f"{c}-{k['file']}" for c, k in ALL_CASES]
)
def test_a_fixture_number_is_claimed_by_at_most_its_own_carrier(
    code: str, case: dict[str, Any]
) -> None:
    for number in case["numbers"]:
        assert registry.identify(number) in ([], [code]), number


@pytest.mark.parametrize("code", REAL_CARRIERS)
def test_an_unconfigured_carrier_refuses_to_fetch_and_names_its_setting(code: str) -> None:
    adapter = registry.build_adapter(code)
    assert adapter.configured is False

    async def fetch() -> None:
        try:
            await adapter.fetch([TrackingQuery(number="5784652101")])
        finally:
            await adapter.aclose()

    with pytest.raises(CarrierAuthError, match="RT_"):
        asyncio.run(fetch())


def test_postal_carriers_say_so_and_couriers_are_express() -> None:
    networks = {code: registry.network(code) for code in registry.ADAPTERS}
    assert networks == {
        "dhl": "express",
        "fedex": "express",
        "ups": "express",
        "ems": "postal",
        "china_post": "postal",
        "tnt": "express",
        "sf_express": "express",
        "17track": "postal",
        "sandbox": "express",
    }
    assert registry.network("carrier-we-never-heard-of") == "postal"
    assert registry.network("17track:100010") == "express"  # DPD (UK): a courier key
    assert registry.network("17track:190012") == "postal"  # Yanwen: a forwarder key


def test_the_service_knows_exactly_the_registered_carriers() -> None:
    assert carrier_codes() == list(registry.ADAPTERS)


NUMBERS = ("1Z999AA10123456784", "1234567890", "RR123456785CN", "sf 1234-5678 901 23", "ü/ 1?")


@pytest.mark.parametrize("code", [*registry.ADAPTERS, "17track:100010"])
def test_a_page_template_is_the_tracking_url_with_the_number_put_in(code: str) -> None:
    """The fast tracker export writes links from ``page_template`` in SQL: it must be the
    page ``tracking_url`` gives, for every number."""
    template = registry.page_template(code)
    if template is None:
        return
    for number in NUMBERS:
        assert registry.tracking_url(code, number) == fill_page(template, number)


def test_carriers_whose_number_picks_the_page_have_no_template() -> None:
    express, other = "1234567890", "JJD0001234567"
    assert registry.tracking_url("dhl", express) != registry.tracking_url("dhl", other)
    assert registry.page_template("dhl") is None
    assert registry.page_template("ems") is None
    assert registry.page_template("ups") is not None
    with pytest.raises(KeyError):
        registry.page_template("gone_carrier")
