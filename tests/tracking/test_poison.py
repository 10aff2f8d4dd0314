"""One failing tracking number is that number's problem, never its carrier's.

DHL, FedEx and UPS as the service really calls them (their adapters, their response shapes)
against the fake carrier of bench/fake_carrier.py, in process. Its ``broken`` scenario fails a
number with HTTP 500 every time; FedEx, which asks 30 numbers a call, then fails that whole
call, and the poll job splits it to find the number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from adapters._http import HttpPolicy
from adapters.base import CarrierAdapter
from adapters.dhl import DhlAdapter, DhlSettings
from adapters.fedex import FedexAdapter, FedexSettings
from adapters.ups import UpsAdapter, UpsSettings
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from bench import fake_carrier
from tests.factories import ApiClient, FakeClock, new_api_key
from tests.jobs import events, run_job

FAKE = "http://carrier.test"
ONE_TRY = HttpPolicy(max_attempts=1)
GOOD = {"dhl": "10000{:05d}", "fedex": "1000000{:05d}", "ups": "1Z00000000{:08d}"}
POISON = {"dhl": "9999999999", "fedex": "999999999999", "ups": "1Z9999999999999999"}


def _adapters(transport: httpx.AsyncBaseTransport) -> dict[str, CarrierAdapter]:
    return {
        "dhl": DhlAdapter(
            DhlSettings(api_key=SecretStr("k"), base_url=FAKE, requests_per_second=0),
            transport=transport,
            policy=ONE_TRY,
        ),
        "fedex": FedexAdapter(
            FedexSettings(
                client_id=SecretStr("id"),
                client_secret=SecretStr("s"),
                base_url=FAKE,
                requests_per_second=0,
            ),
            transport=transport,
            policy=ONE_TRY,
        ),
        "ups": UpsAdapter(
            UpsSettings(
                client_id=SecretStr("id"),
                client_secret=SecretStr("s"),
                base_url=FAKE,
                requests_per_second=0,
            ),
            transport=transport,
            policy=ONE_TRY,
        ),
    }


@pytest.fixture
def clock() -> FakeClock:
    """The fake carrier dates its scans from today: so does the service here."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def scenarios(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Number prefix -> scenario, read when the fake carrier starts; everything stalls."""
    chosen = {"": "stalled", "99999": "broken", "1Z99999": "broken"}
    monkeypatch.setenv(fake_carrier.SCENARIOS_ENV, json.dumps(chosen))
    monkeypatch.setenv("RT_FAKE_CARRIER_LATENCY", "0")
    return chosen


@pytest.fixture
def app(db: Database, clock: FakeClock, settings: Settings, scenarios: dict[str, str]) -> FastAPI:
    def hub() -> CarrierHub:
        transport = httpx.ASGITransport(app=fake_carrier.create_app())
        carriers = CarrierHub.from_registry()
        carriers.adapters.update(_adapters(transport))
        return carriers

    return create_app(settings, database=db, clock=clock, carrier_hub=hub)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def ops(client: TestClient, db: Database) -> ApiClient:
    return ApiClient(client, new_api_key(db, tenant="acme", name="ops-olga"))


def _register(api: ApiClient, carrier: str, numbers: list[str]) -> list[str]:
    ids = []
    for number in numbers:
        response = api.post(
            "/v1/parcels",
            json={
                "carrier": carrier,
                "tracking_number": number,
                "order_id": f"SO-{number}",
                "origin_country": "CN",
                "destination_country": "DE",
            },
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _parcel(api: ApiClient, parcel_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/v1/parcels/{parcel_id}").json()
    return body


CARRIERS = ["dhl", "fedex", "ups"]


@pytest.mark.parametrize("carrier", CARRIERS)
def test_one_poison_number_among_fifty_silences_nothing(
    ops: ApiClient, carrier: str, db: Database
) -> None:
    good = _register(ops, carrier, [GOOD[carrier].format(n) for n in range(49)])
    [poison] = _register(ops, carrier, [POISON[carrier]])

    polled = run_job(ops, "poll")
    detected = run_job(ops, "detect-stuck")

    assert polled["parcels_found"] == 49  # the other 49 in the same tick
    assert polled["parcels_failed"] == 1
    assert "carrier_unavailable" not in polled
    assert events(db, "carrier.unavailable") == []
    assert detected["opened"] == 49  # detection still opens their incidents
    assert {i["parcel_id"] for i in ops.get("/v1/incidents?page_size=100").json()["items"]} == set(
        good
    )
    failing = _parcel(ops, poison)
    assert failing["last_poll_error"].startswith("CarrierUnavailable")
    if carrier == "fedex":  # 30 numbers a call: the failed call was split to find the poison
        assert polled["batches_split"] >= 1


@pytest.mark.parametrize("carrier", CARRIERS)
def test_a_real_outage_still_pauses_detection(
    ops: ApiClient, carrier: str, db: Database, monkeypatch: pytest.MonkeyPatch, app: FastAPI
) -> None:
    numbers = [POISON[carrier][:-3] + f"{n:03d}" for n in range(10)]  # every one broken
    _register(ops, carrier, numbers)

    polled = run_job(ops, "poll")

    assert polled["parcels_failed"] == 10
    assert polled["carrier_unavailable"] == 1
    assert [e["payload"]["carrier"] for e in events(db, "carrier.unavailable")] == [carrier]
    assert run_job(ops, "detect-stuck")["opened"] == 0


def test_a_number_failing_alone_backs_off_alone_then_opens_a_tracking_error(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    _register(ops, "ups", [GOOD["ups"].format(n) for n in range(3)])
    [poison] = _register(ops, "ups", [POISON["ups"]])
    waits = []
    for _ in range(8):  # RT_POLL_ERROR_LIMIT
        run_job(ops, "poll")
        due = datetime.fromisoformat(_parcel(ops, poison)["next_poll_at"])
        waits.append(round((due - clock.now).total_seconds() / 60))
        clock.now = due

    assert waits[:4] == [pytest.approx(w, rel=0.11) for w in (15, 30, 60, 120)]
    assert max(waits) <= 12 * 60 * 1.1  # RT_POLL_ERROR_BACKOFF_MAX_HOURS
    incidents = ops.get("/v1/incidents").json()["items"]
    tracking_errors = [i for i in incidents if i["type"] == "tracking_error"]
    assert [i["parcel_id"] for i in tracking_errors] == [poison]
    assert "cannot answer for" in tracking_errors[0]["next_step"]["action"]
    assert events(db, "carrier.unavailable") == []
