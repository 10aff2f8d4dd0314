"""The estimate follows the carrier: a new scan with a later carrier estimate moves the window and
says so once (``parcel.eta_changed``); the same estimate again says nothing; a delivered parcel
keeps the estimate it had."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest
from fastapi import FastAPI

from adapters.base import DeliveryWindow, TrackingQuery, TrackingResult
from adapters.sandbox import SandboxAdapter
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.jobs import events, run_job


class EstimatingSandbox(SandboxAdapter):
    """The sandbox carrier, answering with whatever delivery estimate the test sets."""

    estimate: DeliveryWindow | None = None

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        return [
            replace(result, estimated_delivery=self.estimate)
            if result.outcome == "found"
            else result
            for result in await super().fetch(queries)
        ]


@pytest.fixture
def sandbox(clock: FakeClock) -> EstimatingSandbox:
    return EstimatingSandbox(clock=clock)


@pytest.fixture
def app(db: Database, clock: FakeClock, settings: Settings, sandbox: EstimatingSandbox) -> FastAPI:
    def hub() -> CarrierHub:
        carriers = CarrierHub.from_registry()
        carriers.adapters["sandbox"] = sandbox
        return carriers

    return create_app(settings, database=db, clock=clock, carrier_hub=hub)


def window(earliest: str, latest: str) -> DeliveryWindow:
    return DeliveryWindow(date.fromisoformat(earliest), date.fromisoformat(latest), "test")


def refresh(api: ApiClient, parcel: dict[str, object]) -> dict[str, object]:
    response = api.post(f"/v1/parcels/{parcel['id']}/refresh")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_later_carrier_estimate_moves_the_window_once(
    api: ApiClient, db: Database, clock: FakeClock, sandbox: EstimatingSandbox
) -> None:
    parcel = register_parcel(
        api, carrier=None, tracking_number="SANDBOX-INTRANSIT-0001", shipped_at=None
    )
    assert parcel["estimated_delivery"] == {
        "earliest": "2026-03-17",  # the express default: 3 to 7 business days in Germany
        "latest": "2026-03-23",
        "basis": "default",
    }
    sandbox.estimate = window("2026-03-16", "2026-03-17")
    clock.advance(days=1)
    first = refresh(api, parcel)  # the carrier's first word replaces our default
    assert first["new_scans"]
    assert len(events(db, "parcel.eta_changed")) == 1

    sandbox.estimate = window("2026-03-19", "2026-03-20")  # a day later: a delay
    clock.advance(days=1)
    later = refresh(api, parcel)

    changed = events(db, "parcel.eta_changed")
    assert later["new_scans"]
    assert len(changed) == 2
    assert changed[-1]["parcel_id"] == parcel["id"]
    assert changed[-1]["payload"]["previous"] == {
        "earliest": "2026-03-16",
        "latest": "2026-03-17",
        "basis": "carrier",
    }
    now_shown = {"earliest": "2026-03-19", "latest": "2026-03-20", "basis": "carrier"}
    assert changed[-1]["payload"]["parcel"]["estimated_delivery"] == now_shown
    assert later["parcel"]["estimated_delivery"] == now_shown  # type: ignore[index]

    clock.advance(days=1)
    same = refresh(api, parcel)  # a new scan, the same estimate
    run_job(api, "poll")

    assert same["new_scans"]
    assert len(events(db, "parcel.eta_changed")) == 2
    shown = api.get(f"/v1/parcels/{parcel['id']}").json()["estimated_delivery"]
    assert shown == now_shown


def test_a_carrier_moving_its_estimate_without_a_scan_is_news_too(
    api: ApiClient, db: Database, clock: FakeClock, sandbox: EstimatingSandbox
) -> None:
    parcel = register_parcel(api, carrier=None, tracking_number="SANDBOX-STALLED-0001")
    sandbox.estimate = window("2026-03-16", "2026-03-16")
    clock.advance(days=3)
    refresh(api, parcel)
    before = len(events(db, "parcel.eta_changed"))

    sandbox.estimate = window("2026-03-18", "2026-03-18")
    quiet = refresh(api, parcel)  # the stalled parcel has no new scan

    assert quiet["new_scans"] == []
    assert len(events(db, "parcel.eta_changed")) == before + 1
    assert quiet["parcel"]["estimated_delivery"]["earliest"] == "2026-03-18"  # type: ignore[index]


def test_a_pushed_scan_keeps_the_carriers_estimate(
    api: ApiClient, db: Database, clock: FakeClock, sandbox: EstimatingSandbox
) -> None:
    parcel = register_parcel(api, carrier=None, tracking_number="SANDBOX-STALLED-0002")
    sandbox.estimate = window("2026-03-16", "2026-03-17")
    clock.advance(days=1)
    refresh(api, parcel)
    before = events(db, "parcel.eta_changed")

    pushed = api.post(
        f"/v1/parcels/{parcel['id']}/scans",
        json={
            "scans": [
                {
                    "status": "in_transit",
                    "occurred_at": "2026-03-13T09:00:00Z",
                    "description": "Arrived at hub",
                }
            ]
        },
    )

    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["parcel"]["estimated_delivery"]["basis"] == "carrier"
    assert events(db, "parcel.eta_changed") == before


def test_a_delivered_parcel_keeps_the_estimate_it_had(
    api: ApiClient, db: Database, clock: FakeClock, sandbox: EstimatingSandbox
) -> None:
    parcel = register_parcel(
        api, carrier=None, tracking_number="SANDBOX-DELIVERED-0001", shipped_at=None
    )
    sandbox.estimate = window("2026-03-17", "2026-03-18")
    clock.advance(days=1)
    refresh(api, parcel)
    before = len(events(db, "parcel.eta_changed"))

    sandbox.estimate = window("2026-03-25", "2026-03-26")  # said after delivery: not news
    clock.advance(days=7)  # delivered 145 hours after registration
    delivered = refresh(api, parcel)

    assert delivered["parcel"]["status"] == "delivered"  # type: ignore[index]
    assert delivered["parcel"]["estimated_delivery"] == {  # type: ignore[index]
        "earliest": "2026-03-17",
        "latest": "2026-03-18",
        "basis": "carrier",
    }
    assert len(events(db, "parcel.eta_changed")) == before
