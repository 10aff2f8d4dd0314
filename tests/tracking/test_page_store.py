"""A poll page is stored in one go, and every parcel ends as if it had been stored alone.

Two tenants register the same parcels and live through the same four weeks of polls and
stuck checks. One tenant's answers are stored a page at a time, as the poll job stores them;
the other's one parcel at a time. Their parcels, scans, events, incidents and timelines must
match field for field (ids aside): storing a page in bulk changes how many statements a page
costs, never what it writes.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, select
from sqlmodel import col

from adapters.base import CarrierUnavailable, DeliveryWindow, TrackingResult
from adapters.sandbox import SandboxAdapter
from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents.models import Incident, TimelineEntry
from app.outbox.models import Event
from app.parcels.models import Parcel, ScanRecord
from app.tracking import poll_schedule
from app.tracking.apply import query_for
from app.tracking.store import Evidence, Leased, store_results
from tests.factories import ApiClient, FakeClock, new_api_key, open_incident, register_parcel
from tests.jobs import run_job

SCENARIOS = (
    "DELIVERED",
    "INTRANSIT",
    "STALLED",
    "CUSTOMS",
    "FAILED",
    "RETURNED",
    "EXCEPTION",
    "LOST",
    "NOTFOUND",
)
REFUSED = "SANDBOX-INTRANSIT-REFUSED"  # the carrier refuses this number every time
TIMED_OUT = "SANDBOX-INTRANSIT-TIMEDOUT"  # its call fails alone every time
# A page reads each lane's delivery history once, before its own deliveries are written, so
# two parcels of one lane may be estimated differently stored together or apart: by design.
# Every parcel here has a lane (destination) of its own.
DESTINATIONS = [
    "DE",
    "FR",
    "NL",
    "BE",
    "AT",
    "PL",
    "IT",
    "ES",
    "SE",
    "DK",
    "FI",
    "IE",
    "PT",
    "CZ",
    "GB",
    "US",
    "CA",
    "AU",
    "JP",
    "CH",
    "NO",
    "HU",
    "SK",
    "SI",
]
# hours after registration at which the carrier is polled; detection runs after the last two
POLLS = (30, 72, 8 * 24, 26 * 24)
INCIDENT_NUMBER = re.compile(r"INC-[0-9]+")  # detection numbers a tick's incidents in id order
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _numbers() -> list[str]:
    """Each scenario with and without a carrier estimate (``-W``), and two failing numbers."""
    return [f"SANDBOX-{s}-{kind}" for s in SCENARIOS for kind in ("1", "W")] + [REFUSED, TIMED_OUT]


def _answers(results: list[TrackingResult], round_: int) -> list[TrackingResult]:
    """The sandbox's answers, with estimates that move every round and the failing numbers."""
    answered = []
    for result in results:
        number = result.tracking_number
        if number == REFUSED:
            result = TrackingResult.failed(number, "not a tracking number of this carrier")
        elif number == TIMED_OUT:
            error = CarrierUnavailable("sandbox", "timed out: ReadTimeout")
            result = TrackingResult.unanswered(number, error)
        elif number.endswith("-W") and result.outcome == "found":
            earliest = date(2026, 3, 20) + timedelta(days=2 * round_)
            window = DeliveryWindow(earliest, earliest + timedelta(days=1), "carrier")
            result = replace(result, estimated_delivery=window)
        answered.append(result)
    return answered


def _leased(db: Database, tenant_id: uuid.UUID, clock: FakeClock) -> list[Leased]:
    with db.session() as session:
        parcels = session.scalars(
            select(Parcel)
            .where(col(Parcel.tenant_id) == tenant_id)
            .order_by(Parcel.tracking_number)
        ).all()
    until = clock.now + timedelta(minutes=5)
    return [Leased(p.id, query_for(p), until) for p in parcels]


def _poll(db: Database, clock: FakeClock, tenants: dict[str, uuid.UUID], round_: int) -> None:
    """Ask the carrier once, then store its answers: by page for one tenant, alone for the other."""
    ctx = JobContext(
        db=db,
        carriers=CarrierHub({"sandbox": SandboxAdapter(clock=clock)}),
        settings=Settings(database_url=db.url, scheduler="off"),
        clock=clock,
    )
    for tenant, tenant_id in tenants.items():
        leased = _leased(db, tenant_id, clock)
        fetched = asyncio.run(SandboxAdapter(clock=clock).fetch([c.query for c in leased]))
        results = _answers(fetched, round_)
        evidence = Evidence()
        evidence.saw(results)
        if tenant == "paged":
            store_results(ctx, "sandbox", leased, results, evidence)
        else:
            for one, result in zip(leased, results, strict=True):
                store_results(ctx, "sandbox", [one], [result], evidence)


def _rows(db: Database, table: Table, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    with db.session() as session:
        return [
            dict(row)
            for row in session.execute(
                select(table).where(table.c.tenant_id == tenant_id)
            ).mappings()
        ]


def _snapshot(db: Database, tenant_id: uuid.UUID) -> dict[str, list[str]]:
    """Every row the tenant's polls wrote, its ids replaced by names that both tenants share."""
    tables = {
        "parcels": Parcel.__table__,  # type: ignore[attr-defined]
        "scans": ScanRecord.__table__,  # type: ignore[attr-defined]
        "events": Event.__table__,  # type: ignore[attr-defined]
        "incidents": Incident.__table__,  # type: ignore[attr-defined]
        "timeline_entries": TimelineEntry.__table__,  # type: ignore[attr-defined]
    }
    rows = {name: _rows(db, table, tenant_id) for name, table in tables.items()}
    names = {str(tenant_id): "tenant"}
    names |= {str(p["id"]): f"parcel {p['tracking_number']}" for p in rows["parcels"]}
    # incidents by what they are about: detection opens a tick's incidents in id order
    tracking = {p["id"]: p["tracking_number"] for p in rows["parcels"]}
    names |= {
        str(i["id"]): f"{i['type']} incident of {tracking[i['parcel_id']]}"
        for i in rows["incidents"]
    }

    def named(value: object) -> str:
        text = UUID.sub(lambda m: names.get(m.group(0), "an id"), str(value))
        return INCIDENT_NUMBER.sub("INC-n", text)

    snapshot = {}
    for name, found in rows.items():
        snapshot[name] = sorted(
            json.dumps(
                {
                    column: named(value)
                    for column, value in row.items()
                    if column not in ("id", "number", "hash", "prev_hash")
                },
                sort_keys=True,
            )
            for row in found
        )
    return snapshot


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class MiddleJitter:
    """Poll times carry random jitter; both tenants get the middle of its range."""

    def uniform(self, low: float, high: float) -> float:
        return (low + high) / 2


@pytest.fixture(autouse=True)
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poll_schedule, "random", MiddleJitter())


def test_a_page_stored_at_once_ends_as_each_parcel_stored_alone(
    client: TestClient, db: Database, clock: FakeClock
) -> None:
    apis = {
        tenant: ApiClient(client, new_api_key(db, tenant=tenant, name="ops-olga"))
        for tenant in ("paged", "alone")
    }
    for number, destination in zip(_numbers(), DESTINATIONS, strict=False):
        for api in apis.values():
            parcel = register_parcel(
                api,
                tracking_number=number,
                order_id=f"SO-{number}",
                carrier="sandbox",
                shipped_at=None,
                destination_country=destination,
            )
            if number in ("SANDBOX-INTRANSIT-1", "SANDBOX-DELIVERED-1"):
                assert open_incident(api, parcel["id"]).status_code == 201
    with db.session() as session:
        tenants = {tenant: ensure_tenant(session, slug=tenant).id for tenant in apis}
    registered = clock.now

    for round_, hours in enumerate(POLLS):
        clock.now = registered + timedelta(hours=hours)
        _poll(db, clock, tenants, round_)
        if round_ >= 2:
            run_job(apis["paged"], "detect-stuck")  # both tenants: stalled parcels open incidents

    paged, alone = _snapshot(db, tenants["paged"]), _snapshot(db, tenants["alone"])
    for table in paged:
        only_paged = sorted(set(paged[table]) - set(alone[table]))
        only_alone = sorted(set(alone[table]) - set(paged[table]))
        assert (only_paged, only_alone) == ([], []), table
        assert paged[table] == alone[table], table
    # the story the comparison covers happened: moves, estimates, incidents, failures
    kinds = {json.loads(e)["type"] for e in paged["events"]}
    assert {"parcel.status_changed", "parcel.eta_changed", "parcel.movement_resumed"} <= kinds
    assert any('"movement_resumed"' in entry for entry in paged["timeline_entries"])
    assert any('"parcel_delivered"' in entry for entry in paged["timeline_entries"])
    failing = {
        number: json.loads(p)
        for p in paged["parcels"]
        for number in (REFUSED, TIMED_OUT)
        if json.loads(p)["tracking_number"] == number
    }
    assert [failing[n]["poll_errors"] for n in (REFUSED, TIMED_OUT)] == ["4", "4"]
