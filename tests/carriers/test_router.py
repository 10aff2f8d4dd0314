"""Carriers in the API: the list with health, detection, and refreshing a parcel now."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapters.sandbox import SandboxAdapter
from adapters.ups import PRODUCTION_URL, UpsAdapter, UpsSettings
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.factories import ApiClient, FakeClock, new_api_key, parcel_payload, register_parcel

UPS_FIXTURES = Path(__file__).resolve().parents[1] / "adapters" / "fixtures" / "ups"
CUSTOMS_NUMBER = "1Z6W0E896704315279"  # the number in track_customs_hold.json


@pytest.fixture
def app(db: Database, clock: FakeClock, settings: Settings) -> FastAPI:
    """UPS configured with test credentials (its HTTP faked by respx), sandbox on our clock."""

    def hub() -> CarrierHub:
        carriers = CarrierHub.from_registry()
        carriers.adapters["ups"] = UpsAdapter(
            UpsSettings(
                client_id="rt-test-client-id", client_secret="s3cret", requests_per_second=0
            )
        )
        carriers.adapters["sandbox"] = SandboxAdapter(clock=clock)
        return carriers

    return create_app(settings, database=db, clock=clock, carrier_hub=hub)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def ups() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=PRODUCTION_URL, assert_all_called=False) as router:
        router.post("/security/v1/oauth/token").respond(
            200, json=json.loads((UPS_FIXTURES / "oauth_token.json").read_text())
        )
        yield router


def test_carriers_list_says_which_are_configured_and_healthy(api: ApiClient) -> None:
    carriers = {c["code"]: c for c in api.get("/v1/carriers").json()}

    real = {"dhl", "fedex", "ups", "ems", "china_post", "tnt", "sf_express", "17track"}
    assert set(carriers) == real | {"sandbox"}
    assert carriers["ups"]["configured"] is True
    assert carriers["dhl"]["configured"] is False
    assert carriers["sandbox"]["sandbox"] is True
    assert carriers["ups"]["sandbox"] is False
    assert carriers["fedex"]["capabilities"]["batch_size"] == 30
    assert carriers["china_post"]["capabilities"]["batch_size"] == 40
    assert carriers["ups"]["health"]["breaker_state"] == "closed"


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        ("1Z999AA10123456784", "ups"),
        ("123456789012", "fedex"),
        ("3318810025", "dhl"),
        ("EE123456785CN", "ems"),
        ("RR123456785CN", "china_post"),
        ("324518075", "tnt"),
        ("GD709382646WW", "tnt"),
        ("SF1402736915048", "sf_express"),
        ("SANDBOX-CUSTOMS-0001", "sandbox"),
    ],
)
def test_detection_names_the_one_carrier_whose_check_digit_matches(
    api: ApiClient, number: str, carrier: str
) -> None:
    response = api.get("/v1/carriers/detect", params={"tracking_number": number})

    assert response.status_code == 200
    assert response.json()["carrier"] == carrier
    [candidate] = response.json()["candidates"]
    assert candidate["code"] == carrier
    assert number in candidate["tracking_url"]


def test_a_parcel_without_carrier_gets_the_detected_one(api: ApiClient) -> None:
    parcel = register_parcel(api, carrier=None, tracking_number="EE123456785CN")
    assert parcel["carrier"] == "ems"


def test_a_number_no_carrier_accepts_is_422_naming_the_field(api: ApiClient) -> None:
    body = {"tracking_number": "1Z999AA10123456785", "carrier": None}  # wrong check digit
    response = api.post("/v1/parcels", json=parcel_payload(**body))

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    error = response.json()["errors"][0]
    assert error["field"] == "carrier"
    assert "matches no carrier" in error["message"]


def test_a_bare_12_digit_number_offers_sf_express_and_asks_for_the_carrier(
    api: ApiClient,
) -> None:
    number = "702419385561"  # SF's older form; FedEx's check digit fails

    detected = api.get("/v1/carriers/detect", params={"tracking_number": number}).json()
    response = api.post("/v1/parcels", json=parcel_payload(tracking_number=number, carrier=None))

    assert detected["carrier"] is None
    assert [c["code"] for c in detected["candidates"]] == ["sf_express"]
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "carrier"
    assert "no check digit or prefix proves" in problem["errors"][0]["message"]
    assert [c["code"] for c in problem["candidates"]] == ["sf_express"]
    registered = register_parcel(api, tracking_number=number, carrier="sf_express")
    assert registered["carrier"] == "sf_express"


def test_a_12_digit_number_whose_fedex_check_digit_holds_stays_fedex(api: ApiClient) -> None:
    detected = api.get("/v1/carriers/detect", params={"tracking_number": "123456789012"})
    assert detected.json()["carrier"] == "fedex"


@pytest.mark.parametrize(
    ("carrier", "message"),
    [
        ("17track:abc", "positive whole number"),
        ("17track:0", "positive whole number"),
        ("17track:-4", "positive whole number"),
        ("17track:1234567890", "positive whole number"),
        ("17track", "give the carrier's 17TRACK key"),
        ("hermes", "'17track:<key>' (any carrier 17TRACK knows"),
    ],
)
def test_a_bad_carrier_or_17track_key_is_422_naming_carrier(
    api: ApiClient, carrier: str, message: str
) -> None:
    response = api.post("/v1/parcels", json=parcel_payload(carrier=carrier))

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "carrier"
    assert message in error["message"]


def test_the_client_may_always_override_the_carrier(api: ApiClient) -> None:
    parcel = register_parcel(api, carrier="dhl", tracking_number="1Z999AA10123456784")
    assert parcel["carrier"] == "dhl"


def test_refresh_polls_ups_now_and_stores_its_scans(api: ApiClient, ups: respx.MockRouter) -> None:
    ups.get(f"/api/track/v1/details/{CUSTOMS_NUMBER}").respond(
        200, json=json.loads((UPS_FIXTURES / "track_customs_hold.json").read_text())
    )
    parcel = register_parcel(api, tracking_number=CUSTOMS_NUMBER)

    response = api.post(f"/v1/parcels/{parcel['id']}/refresh")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "found"
    assert body["parcel"]["status"] == "customs_hold"
    assert body["parcel"]["last_polled_at"] is not None
    assert len(body["new_scans"]) >= 4
    stored = api.get(f"/v1/parcels/{parcel['id']}/scans").json()
    assert len(stored) == len(body["new_scans"])
    again = api.post(f"/v1/parcels/{parcel['id']}/refresh").json()
    assert again["new_scans"] == []


def test_a_carrier_outage_on_refresh_is_503_and_keeps_the_stored_scans(
    api: ApiClient, ups: respx.MockRouter
) -> None:
    route = ups.get(f"/api/track/v1/details/{CUSTOMS_NUMBER}")
    route.respond(200, json=json.loads((UPS_FIXTURES / "track_customs_hold.json").read_text()))
    parcel = register_parcel(api, tracking_number=CUSTOMS_NUMBER)
    api.post(f"/v1/parcels/{parcel['id']}/refresh")
    route.side_effect = httpx.ConnectError("connection refused")

    response = api.post(f"/v1/parcels/{parcel['id']}/refresh")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "ups" in response.json()["detail"]
    after = api.get(f"/v1/parcels/{parcel['id']}").json()
    assert after["status"] == "customs_hold"
    assert after["last_poll_error"]
    assert len(api.get(f"/v1/parcels/{parcel['id']}/scans").json()) >= 4


def test_refreshing_an_unconfigured_carrier_says_which_setting_is_missing(
    api: ApiClient,
) -> None:
    parcel = register_parcel(api, carrier="fedex", tracking_number="123456789012")

    response = api.post(f"/v1/parcels/{parcel['id']}/refresh")

    assert response.status_code == 502
    assert "RT_FEDEX_CLIENT_ID" in response.json()["detail"]


def test_refreshing_another_tenants_parcel_is_404(
    api: ApiClient, client: TestClient, db: Database
) -> None:
    parcel = register_parcel(api, carrier="sandbox", tracking_number="SANDBOX-DELIVERED-1")
    other = ApiClient(client, new_api_key(db, tenant="globex"))

    assert other.post(f"/v1/parcels/{parcel['id']}/refresh").status_code == 404
