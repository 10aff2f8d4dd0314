"""Polling carriers named by 17TRACK key, and the `other` carrier that is never polled.

17TRACK is faked with respx and configured through its environment variables, so the hub is
built exactly as a process builds it: every 17TRACK carrier on one shared connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI

from adapters._17track import GETTRACKINFO_PATH, PRODUCTION_URL, REGISTER_PATH
from adapters.sandbox import SandboxAdapter
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.jobs import events, run_job

FIXTURES = Path(__file__).resolve().parents[1] / "adapters" / "fixtures" / "17track"
DPD_UK = "15502370914826"  # delivered in track_delivered.json (key 100010)
YANWEN = "UG458120937YP"  # in transit in track_in_transit.json (key 190012)


@pytest.fixture
def app(
    db: Database, clock: FakeClock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> FastAPI:
    monkeypatch.setenv("RT_17TRACK_API_KEY", "test-17token")
    monkeypatch.setenv("RT_17TRACK_REQUESTS_PER_SECOND", "0")

    def hub() -> CarrierHub:
        carriers = CarrierHub.from_registry()
        carriers.adapters["sandbox"] = SandboxAdapter(clock=clock)
        return carriers

    return create_app(settings, database=db, clock=clock, carrier_hub=hub)


def _answer(request: httpx.Request) -> httpx.Response:
    """17TRACK: registers whatever it is sent; tracks each number from its fixture."""
    items = json.loads(request.content)
    if request.url.path == REGISTER_PATH:
        accepted = [{"number": i["number"], "carrier": i.get("carrier")} for i in items]
        return httpx.Response(200, json={"code": 0, "data": {"accepted": accepted}})
    [item] = items
    name = "track_delivered.json" if item["number"] == DPD_UK else "track_in_transit.json"
    return httpx.Response(200, json=json.loads((FIXTURES / name).read_text()))


@pytest.fixture
def seventeen() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=PRODUCTION_URL, assert_all_called=False) as router:
        router.post(REGISTER_PATH).mock(side_effect=_answer)
        router.post(GETTRACKINFO_PATH).mock(side_effect=_answer)
        yield router


def _bodies(router: respx.MockRouter, path: str) -> list[Any]:
    return [json.loads(c.request.content) for c in router.calls if c.request.url.path == path]


def test_each_17track_key_is_polled_with_its_own_key_on_the_one_connection(
    ops: ApiClient, clock: FakeClock, seventeen: respx.MockRouter
) -> None:
    dpd = register_parcel(ops, carrier="17track:100010", tracking_number=DPD_UK)
    yanwen = register_parcel(ops, carrier="17track:190012", tracking_number=YANWEN)
    clock.advance(minutes=5)

    counts = run_job(ops, "poll")

    assert (counts["parcels_found"], counts["calls"]) == (2, 2)
    sent = sorted(_bodies(seventeen, GETTRACKINFO_PATH), key=lambda body: body[0]["carrier"])
    assert sent == [
        [{"number": DPD_UK, "carrier": 100010}],
        [{"number": YANWEN, "carrier": 190012}],
    ]
    assert len(_bodies(seventeen, REGISTER_PATH)) == 2
    delivered = ops.get(f"/v1/parcels/{dpd['id']}").json()
    moving = ops.get(f"/v1/parcels/{yanwen['id']}").json()
    assert (delivered["status"], moving["status"]) == ("delivered", "in_transit")
    assert delivered["last_scan"]["location"]["city"] == "Leeds"
    assert moving["tracking_url"] == "https://t.17track.net/en#nums=UG458120937YP&fc=190012"
    assert {c["code"]: c["configured"] for c in ops.get("/v1/carriers").json()}["17track"]


def test_a_17track_key_parcel_refreshes_on_demand(
    ops: ApiClient, seventeen: respx.MockRouter
) -> None:
    parcel = register_parcel(ops, carrier="17track:190012", tracking_number=YANWEN)

    response = ops.post(f"/v1/parcels/{parcel['id']}/refresh")

    assert response.status_code == 200, response.text
    assert (response.json()["carrier"], response.json()["outcome"]) == ("17track:190012", "found")
    assert _bodies(seventeen, GETTRACKINFO_PATH) == [[{"number": YANWEN, "carrier": 190012}]]


def _other(api: ApiClient) -> dict[str, Any]:
    return register_parcel(
        api,
        carrier="other",
        carrier_name="Hermes",
        tracking_number="H1002340056789012",
        tracking_url_template="https://track.example.com/parcel/{number}",
        destination_country="DE",
        shipped_at=None,
    )


def test_an_other_parcel_is_never_polled_even_with_every_carrier_configured(
    ops: ApiClient, clock: FakeClock, seventeen: respx.MockRouter
) -> None:
    parcel = _other(ops)
    clock.advance(days=2)

    counts = run_job(ops, "poll")

    assert counts.get("claimed", 0) == 0
    assert seventeen.calls.call_count == 0
    stored = ops.get(f"/v1/parcels/{parcel['id']}").json()
    assert (stored["last_polled_at"], stored["next_poll_at"]) == (None, None)
    refresh = ops.post(f"/v1/parcels/{parcel['id']}/refresh")
    assert refresh.status_code == 404
    assert "not polled" in refresh.json()["detail"]


def test_pushed_scans_of_an_other_parcel_go_stuck_and_open_an_incident(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    parcel = _other(ops)
    scan = {
        "status": "in_transit",
        "occurred_at": clock.now.isoformat(),
        "description": "Parcel sorted at the Hermes hub",
        "location": {"city": "Haldensleben", "country": "DE"},
    }
    pushed = ops.post(f"/v1/parcels/{parcel['id']}/scans", json={"scans": [scan]})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["accepted"] == 1
    assert pushed.json()["parcel"]["status"] == "in_transit"

    clock.advance(days=5)  # Tue 17 Mar: 3 business days in DE, under the postal 8
    run_job(ops, "poll")
    assert run_job(ops, "detect-stuck")["opened"] == 0

    clock.advance(days=9)  # Thu 26 Mar: 10 business days since the scan
    run_job(ops, "poll")
    assert run_job(ops, "detect-stuck")["opened"] == 1

    [incident] = ops.get("/v1/incidents").json()["items"]
    assert (incident["source"], incident["type"]) == ("auto", "delay")
    assert incident["parcel_id"] == parcel["id"]
    assert incident["tracking_url"] == "https://track.example.com/parcel/H1002340056789012"
    [stuck] = events(db, "parcel.stuck")
    assert stuck["payload"]["detection"]["rule"] == "default postal in_transit"
