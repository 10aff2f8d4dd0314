"""``GET /v1/incidents/{id}`` without a session: on PostgreSQL one statement on the read pool,
with exactly the answer the ORM read gives (``app.incidents.reading``)."""

from __future__ import annotations

import socket
import uuid
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.db.reads import AsyncReads
from app.incidents.models import Incident
from app.incidents.reading import IncidentReader
from app.people.service import create_user
from tests.factories import START, UPS_NUMBERS, ApiClient, FakeClock, open_incident, register_parcel
from tests.statements import statements_sent


def an_agent(db: Database, *, tenant: str) -> None:
    with db.unit_of_work() as session:
        create_user(
            session,
            tenant=ensure_tenant(session, slug=tenant),
            email="anna@shop.example",
            display_name="Anna Agent",
            role="agent",
            password="a long and private passphrase",
            password_min_length=12,
            now=START,
        )


def incidents_of_every_shape(api: ApiClient, db: Database, clock: FakeClock) -> list[str]:
    """A bare one; one owned, compensated, with a next step and a last scan; a resolved one."""
    an_agent(db, tenant="acme")
    bare = open_incident(api, register_parcel(api)["id"]).json()["id"]

    parcel = register_parcel(
        api, tracking_number=UPS_NUMBERS[1], order_id="SO-10024", customer={"name": "Li Wei"}
    )
    api.post(
        f"/v1/parcels/{parcel['id']}/scans",
        json={
            "scans": [
                {
                    "status": "in_transit",
                    "occurred_at": "2026-03-12T08:10:00+01:00",
                    "description": "Arrived at the hub",
                    "location": {"city": "Leipzig", "country": "DE"},
                }
            ]
        },
    ).raise_for_status()
    worked = open_incident(api, parcel["id"]).json()["id"]
    url = f"/v1/incidents/{worked}"
    api.patch(
        url,
        json={
            "assignee": "anna@shop.example",
            "root_cause": "customs_inspection",
            "substantiated": True,
            "responsible_department": "Logistics",
            "compensation": {"kind": "partial_refund", "amount": "15.50", "currency": "eur"},
            "next_step": {"action": "Call the carrier", "due_at": "2026-03-13T17:00:00+01:00"},
        },
        headers={"If-Match": api.get(url).headers["etag"]},
    ).raise_for_status()

    clock.advance(hours=40)  # the next step is overdue now
    parcel = register_parcel(
        api, tracking_number="SANDBOX-STALLED-0001", carrier=None, order_id="SO-10025"
    )
    resolved = open_incident(api, parcel["id"], type="lost").json()["id"]
    api.post(
        f"/v1/incidents/{resolved}/transitions", json={"to": "resolved", "resolution": "reshipped"}
    ).raise_for_status()
    return [bare, worked, resolved]


def test_the_read_pool_answers_what_the_session_would(
    app: FastAPI, api: ApiClient, db: Database, clock: FakeClock
) -> None:
    ids = incidents_of_every_shape(api, db, clock)
    reader: IncidentReader = app.state.incident_reader
    with db.session() as session:
        tenant_id = session.exec(select(Incident.tenant_id)).first()
    assert tenant_id is not None

    for incident_id in ids:
        with statements_sent(db) as through_the_orm:
            answer = api.get(f"/v1/incidents/{incident_id}")
        view, etag = reader.view_in_session(tenant_id, uuid.UUID(incident_id), clock())

        assert answer.status_code == 200
        assert answer.json() == view.model_dump(mode="json")
        assert answer.headers["etag"] == etag
        if db.dialect == "postgresql":
            assert through_the_orm == []  # no session, no worker thread: the read pool

    worked = api.get(f"/v1/incidents/{ids[1]}").json()
    assert worked["assignee"]["name"] == "Anna Agent"
    assert Decimal(worked["compensation"]["amount"]) == Decimal("15.50")
    assert worked["last_tracking_update"]["location"]["city"] == "Leipzig"
    assert worked["overdue"] is True


def test_another_tenants_incident_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()

    theirs = other_api.get(f"/v1/incidents/{incident['id']}")
    unknown = api.get(f"/v1/incidents/{uuid.uuid4()}")

    for refused in (theirs, unknown):
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # the read pool's
def test_a_database_that_cannot_answer_is_a_503_to_retry(
    app: FastAPI, client: TestClient, api: ApiClient, db: Database
) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()
    reader: IncidentReader = app.state.incident_reader
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    working, reader.reads = (
        reader.reads,
        AsyncReads(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/test", timeout=1),
    )
    assert client.portal is not None
    client.portal.call(reader.reads.open)
    try:
        answer = api.get(f"/v1/incidents/{incident['id']}")
    finally:
        client.portal.call(reader.reads.close)
        reader.reads = working

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"]
    assert api.get(f"/v1/incidents/{incident['id']}").status_code == 200
