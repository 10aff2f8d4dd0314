"""The service with the sandbox carrier on the test clock, and helpers to run job ticks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from adapters.sandbox import SandboxAdapter
from app.core.carrier_hub import CarrierHub
from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from app.outbox.models import Event
from tests.factories import ApiClient, FakeClock, new_api_key


@pytest.fixture
def app(db: Database, clock: FakeClock, settings: Settings) -> FastAPI:
    def hub() -> CarrierHub:
        carriers = CarrierHub.from_registry()
        carriers.adapters["sandbox"] = SandboxAdapter(clock=clock)
        return carriers

    return create_app(settings, database=db, clock=clock, carrier_hub=hub)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def run_job(api: ApiClient, job: str) -> dict[str, int]:
    response = api.post(f"/v1/admin/jobs/{job}/run")
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()["counts"]
    return counts


def events(db: Database, type: str | None = None) -> list[dict[str, Any]]:
    """Domain events as stored, oldest first, payload decoded."""
    with db.session() as session:
        query = select(Event).order_by(col(Event.occurred_at), col(Event.id))
        if type is not None:
            query = query.where(Event.type == type)
        return [
            {
                "type": e.type,
                "parcel_id": str(e.parcel_id) if e.parcel_id else None,
                "incident_id": str(e.incident_id) if e.incident_id else None,
                "payload": json.loads(e.payload),
            }
            for e in session.exec(query)
        ]


@pytest.fixture
def ops(client: TestClient, db: Database) -> ApiClient:
    """An operator of tenant 'acme' with every scope (admin included)."""
    return ApiClient(client, new_api_key(db, tenant="acme", name="ops-olga"))
