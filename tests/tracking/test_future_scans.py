"""Scans dated ahead of the server clock: pushed, a 422 naming the scan; from a carrier whose
clock is wrong, dropped and logged, so that stuck detection keeps working."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from adapters.base import Scan, ScanStatus, TrackingQuery, TrackingResult
from adapters.sandbox import SandboxAdapter
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.factories import ApiClient, FakeClock, new_api_key, register_parcel
from tests.jobs import run_job


def scan(at: str, description: str = "Sorted") -> dict[str, object]:
    return {"status": "in_transit", "occurred_at": at, "description": description}


def test_a_pushed_scan_dated_in_the_future_is_refused_naming_it(
    api: ApiClient, clock: FakeClock
) -> None:
    parcel = register_parcel(api)  # the clock reads 2026-03-12T09:30:00Z
    scans = f"/v1/parcels/{parcel['id']}/scans"

    refused = api.post(
        scans,
        json={
            "scans": [
                scan("2026-03-12T09:00:00Z"),
                scan("2026-03-12T10:41:00+01:00"),  # 11 minutes ahead
                scan("2026-03-13T09:30:00Z"),
            ]
        },
    )
    accepted = api.post(scans, json={"scans": [scan("2026-03-12T10:39:00+01:00")]})

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == [
        "scans.1.occurred_at",
        "scans.2.occurred_at",
    ]
    assert "in the future" in refused.json()["errors"][0]["message"]
    assert refused.json()["detail"].startswith("scans.1.occurred_at: ")
    assert accepted.status_code == 200, accepted.text  # 9 minutes ahead: within the allowance
    assert [s["occurred_at"] for s in api.get(scans).json()] == ["2026-03-12T09:39:00Z"]


def test_the_allowance_is_a_setting(
    db: Database, clock: FakeClock, settings: Settings, api: ApiClient
) -> None:
    strict = settings.model_copy(update={"scan_future_tolerance_minutes": 0})
    with TestClient(create_app(strict, database=db, clock=clock)) as client:
        strict_api = ApiClient(client, new_api_key(db, tenant="acme", name="strict"))
        parcel = register_parcel(strict_api)

        ahead = strict_api.post(
            f"/v1/parcels/{parcel['id']}/scans", json={"scans": [scan("2026-03-12T09:31:00Z")]}
        )

    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["field"] == "scans.0.occurred_at"


class SkewedSandbox(SandboxAdapter):
    """The sandbox carrier, plus one scan stamped three days ahead of the clock on every
    answer: a carrier whose clock (or time zone) is wrong."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.clock = clock

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        ahead = Scan(ScanStatus.IN_TRANSIT, self.clock.now + timedelta(days=3), "Departed hub")
        return [
            TrackingResult.found(r.tracking_number, [*r.scans, ahead])
            if r.outcome == "found"
            else r
            for r in await super().fetch(queries)
        ]


@pytest.fixture
def app(db: Database, clock: FakeClock, settings: Settings) -> FastAPI:
    """The service as conftest builds it, with the skewed carrier (``client`` picks it up)."""

    def hub() -> CarrierHub:
        carriers = CarrierHub.from_registry()
        carriers.adapters["sandbox"] = SkewedSandbox(clock)
        return carriers

    return create_app(settings, database=db, clock=clock, carrier_hub=hub)


def test_a_carriers_future_scans_are_dropped_and_stuck_detection_still_fires(
    ops: ApiClient, clock: FakeClock
) -> None:
    parcel = register_parcel(
        ops, tracking_number="SANDBOX-STALLED-0001", carrier=None, shipped_at=None
    )
    clock.advance(days=3)  # the sandbox's four scans have happened; then silence

    with capture_logs() as logs:
        refreshed = ops.post(f"/v1/parcels/{parcel['id']}/refresh")
    clock.advance(days=7)
    run_job(ops, "poll")
    detected = run_job(ops, "detect-stuck")
    stored = ops.get(f"/v1/parcels/{parcel['id']}/scans").json()

    assert refreshed.status_code == 200, refreshed.text
    assert len(refreshed.json()["new_scans"]) == 4
    assert [s["description"] for s in stored if s["description"] == "Departed hub"] == []
    assert refreshed.json()["parcel"]["last_scan_at"] == stored[-1]["occurred_at"]
    assert stored[-1]["occurred_at"] < "2026-03-15T09:30:00Z"  # the clock when refreshed
    assert detected["opened"] == 1
    [dropped] = [e for e in logs if e["event"] == "future_scans_dropped"]
    assert (dropped["carrier"], dropped["dropped"]) == ("sandbox", 1)
    assert dropped["latest"] == "2026-03-18T09:30:00Z"


def test_an_imported_last_tracking_update_dated_in_the_future_is_a_row_error(
    api: ApiClient,
) -> None:
    sheet = (
        "Order ID,Tracking Number,Carrier,Last Tracking Update,Last Tracking Update Date\n"
        "SO-1,1Z999AA10123456784,UPS,Departed hub,2026-03-13T09:30:00Z\n"
    )

    report = api.post(
        "/v1/incidents/import", content=sheet.encode(), headers={"Content-Type": "text/csv"}
    ).json()

    assert report["errors"] == [
        {"row": 2, "column": "Last Tracking Update Date", "reason": "is in the future"}
    ]
