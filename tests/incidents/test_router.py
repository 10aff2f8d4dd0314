"""Incidents: opening, editing under If-Match, the lifecycle, listing."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import col, select

from app.db.engine import Database
from app.outbox.models import Event
from tests.factories import (
    UPS_NUMBERS,
    ApiClient,
    FakeClock,
    open_incident,
    register_parcel,
)


def events_of(db: Database, incident_id: str) -> list[str]:
    with db.session() as session:
        rows = session.exec(select(Event).order_by(col(Event.occurred_at))).all()
        return [e.type for e in rows if str(e.incident_id) == incident_id]


def test_customer_incident_carries_the_whole_tracker_row(api: ApiClient, db: Database) -> None:
    parcel = register_parcel(api)
    api.post(
        f"/v1/parcels/{parcel['id']}/scans",
        json={
            "scans": [
                {
                    "status": "customs_hold",
                    "occurred_at": "2026-03-08T11:00:00+01:00",
                    "description": "Held by import customs",
                    "location": {"city": "Frankfurt", "country": "DE"},
                    "raw_code": "EME",
                }
            ]
        },
    )

    response = open_incident(api, parcel["id"])

    assert response.status_code == 201
    incident = response.json()
    assert incident["number"] == "INC-000001"
    assert response.headers["etag"] == f'"{incident["id"]}.1"'
    assert response.headers["location"] == f"/v1/incidents/{incident['id']}"
    assert incident["order_id"] == "SO-10023"
    assert incident["order_date"] == "2026-03-01"
    assert incident["customer"]["email"] == "maria.schmidt@example.com"
    assert incident["customer"]["ticket_ref"] == "ZD-4411"
    assert (incident["carrier"], incident["tracking_number"]) == ("ups", UPS_NUMBERS[0])
    assert UPS_NUMBERS[0] in incident["tracking_url"]
    assert incident["last_tracking_update"]["status"] == "customs_hold"
    assert incident["last_tracking_update"]["location"]["city"] == "Frankfurt"
    assert incident["customer_reported_at"] == "2026-03-12T09:30:00Z"
    assert incident["opened_at"] == "2026-03-12T09:30:00Z"
    assert incident["status"] == "open"
    assert incident["next_step"] == {
        "action": "Acknowledge the customer and check the latest tracking",
        "due_at": "2026-03-13T09:30:00Z",
    }
    assert incident["overdue"] is False
    assert events_of(db, incident["id"]) == ["incident.opened"]


def test_incident_by_order_and_tracking_number_registers_the_parcel(api: ApiClient) -> None:
    response = api.post(
        "/v1/incidents",
        json={
            "type": "lost",
            "source": "agent",
            "order_id": "SO-777",
            "tracking_number": UPS_NUMBERS[1],
            "carrier": "ups",
            "customer": {"name": "Lee", "email": "lee@example.org"},
            "destination_country": "US",
        },
    )

    assert response.status_code == 201, response.text
    incident = response.json()
    assert incident["customer_reported_at"] is None  # an agent noticed, not the customer
    parcel = api.get(f"/v1/parcels/{incident['parcel_id']}").json()
    assert (parcel["order_id"], parcel["tracking_number"]) == ("SO-777", UPS_NUMBERS[1])
    again = api.post(
        "/v1/incidents",
        json={
            "type": "delay",
            "order_id": "SO-777",
            "tracking_number": UPS_NUMBERS[1],
            "carrier": "ups",
        },
    )
    assert again.json()["parcel_id"] == incident["parcel_id"]
    assert again.json()["number"] == "INC-000002"


def test_incident_for_a_tracking_number_of_another_order_is_refused(api: ApiClient) -> None:
    register_parcel(api)

    response = api.post(
        "/v1/incidents",
        json={
            "type": "delay",
            "order_id": "SO-OTHER",
            "tracking_number": UPS_NUMBERS[0],
            "carrier": "ups",
        },
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "order_id"


def test_incident_create_validation_names_fields(api: ApiClient) -> None:
    parcel = register_parcel(api)
    cases = {
        "parcel_id": {"type": "delay"},
        "type": {"type": "stolen_by_pirates", "parcel_id": parcel["id"]},
        "source": {"type": "delay", "source": "auto", "parcel_id": parcel["id"]},
        "next_step.due_at": {
            "type": "delay",
            "parcel_id": parcel["id"],
            "next_step": {"action": "Call", "due_at": "tomorrow"},
        },
        "status": {"type": "delay", "parcel_id": parcel["id"], "status": "resolved"},
    }
    for field, body in cases.items():
        response = api.post("/v1/incidents", json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())
    missing = api.post(
        "/v1/incidents", json={"type": "delay", "parcel_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert missing.status_code == 404


def test_patch_needs_if_match_and_rejects_stale_versions(api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"])
    url = f"/v1/incidents/{incident.json()['id']}"
    etag = incident.headers["etag"]

    missing = api.patch(url, json={"root_cause": "customs_inspection"})
    updated = api.patch(
        url,
        json={"root_cause": "customs_inspection", "substantiated": True},
        headers={"If-Match": etag},
    )
    stale = api.patch(url, json={"root_cause": "weather"}, headers={"If-Match": etag})
    weak = api.patch(
        url, json={"root_cause": "weather"}, headers={"If-Match": "W/" + updated.headers["etag"]}
    )

    assert missing.status_code == 428
    assert updated.status_code == 200
    assert updated.json()["root_cause"] == "customs_inspection"
    assert updated.json()["version"] == 2
    assert updated.headers["etag"] != etag
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == updated.headers["etag"]
    assert weak.status_code == 412
    assert api.get(url).json()["root_cause"] == "customs_inspection"


def test_patch_cannot_touch_status_numbers_tenant_or_timestamps(api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"])
    url = f"/v1/incidents/{incident.json()['id']}"
    for field, value in {
        "status": "resolved",
        "number": "INC-9",
        "tenant_id": "x",
        "opened_at": "2026-01-01T00:00:00Z",
        "version": 9,
    }.items():
        response = api.patch(
            url, json={field: value}, headers={"If-Match": incident.headers["etag"]}
        )
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["field"] == field
    assert api.get(url).json()["version"] == 1


def test_patch_cannot_remove_the_next_step_of_an_open_incident(api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"])
    url = f"/v1/incidents/{incident.json()['id']}"

    response = api.patch(
        url, json={"next_step": None}, headers={"If-Match": incident.headers["etag"]}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "next_step"


def test_patch_compensation_and_next_step_are_recorded(api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"])
    url = f"/v1/incidents/{incident.json()['id']}"

    response = api.patch(
        url,
        headers={"If-Match": incident.headers["etag"]},
        json={
            "compensation": {"kind": "partial_refund", "amount": "15.00", "currency": "eur"},
            "next_step": {"action": "Refund 15 EUR", "due_at": "2026-03-13T12:00:00+01:00"},
            "responsible_department": "Customer Care",
        },
    )

    body = response.json()
    assert body["compensation"] == {
        "kind": "partial_refund",
        "amount": "15.00",
        "currency": "EUR",
        "percent": None,
    }
    assert body["next_step"] == {"action": "Refund 15 EUR", "due_at": "2026-03-13T11:00:00Z"}
    timeline = api.get(f"{url}/timeline").json()["items"]
    kinds = [i["kind"] for i in timeline if i["item"] == "entry"]
    assert kinds == ["opened", "updated", "next_step_set"]
    assert "compensation_amount" in timeline[1]["data"]["changes"]


def test_lifecycle_to_resolved_and_reopen(api: ApiClient, db: Database) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()
    url = f"/v1/incidents/{incident['id']}/transitions"

    moved = api.post(
        url,
        json={
            "to": "awaiting_carrier",
            "next_step": {"action": "Chase UPS", "due_at": "2026-03-14T09:00:00Z"},
        },
    )
    no_resolution = api.post(url, json={"to": "resolved"})
    resolved = api.post(url, json={"to": "resolved", "resolution": "reshipped"})
    forbidden = api.post(url, json={"to": "escalated"})
    reopen_without_reason = api.post(url, json={"to": "open"})
    reopened = api.post(url, json={"to": "open", "reason": "Reshipment lost too"})

    assert moved.json()["status"] == "awaiting_carrier"
    assert moved.json()["next_step"]["action"] == "Chase UPS"
    assert no_resolution.status_code == 422
    assert no_resolution.json()["errors"][0]["field"] == "resolution"
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution"] == "reshipped"
    assert resolved.json()["resolved_at"] == "2026-03-12T09:30:00Z"
    assert resolved.json()["next_step"] is None
    assert forbidden.status_code == 409
    assert forbidden.json()["allowed"] == ["open"]
    assert reopen_without_reason.status_code == 422
    assert reopen_without_reason.json()["errors"][0]["field"] == "reason"
    assert reopened.json()["status"] == "open"
    assert reopened.json()["resolution"] is None
    assert reopened.json()["next_step"]["due_at"] == "2026-03-13T09:30:00Z"
    assert events_of(db, incident["id"]) == [
        "incident.opened",
        "incident.resolved",
        "incident.reopened",
    ]


def test_escalation_writes_an_event(api: ApiClient, db: Database) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()

    api.post(f"/v1/incidents/{incident['id']}/transitions", json={"to": "escalated"})

    assert events_of(db, incident["id"]) == ["incident.opened", "incident.escalated"]
    with db.session() as session:
        event = session.exec(select(Event).where(Event.type == "incident.escalated")).one()
        assert json.loads(event.payload)["incident"]["status"] == "escalated"


def test_overdue_is_computed_and_filterable(api: ApiClient, clock: FakeClock) -> None:
    late = open_incident(api, register_parcel(api)["id"]).json()
    clock.advance(hours=20)
    fresh_parcel = register_parcel(api, tracking_number=UPS_NUMBERS[1], order_id="SO-2")
    fresh = open_incident(api, fresh_parcel["id"]).json()
    clock.advance(hours=5)  # late's deadline (24 h) has passed, fresh's has not

    overdue = api.get("/v1/incidents", params={"overdue": "true"}).json()["items"]
    on_time = api.get("/v1/incidents", params={"overdue": "false"}).json()["items"]

    assert [i["id"] for i in overdue] == [late["id"]]
    assert overdue[0]["overdue"] is True
    assert [i["id"] for i in on_time] == [fresh["id"]]


def test_list_filters_and_cursor_pages(api: ApiClient, clock: FakeClock) -> None:
    ids = []
    for i in range(5):
        parcel = register_parcel(
            api, tracking_number=f"SANDBOX-STALLED-{i}", carrier="sandbox", order_id=f"SO-{i}"
        )
        ids.append(open_incident(api, parcel["id"], type="lost" if i % 2 else "delay").json()["id"])
        clock.advance(minutes=10)

    pages, token = [], None
    while True:
        params = {"page_size": 2} | ({"page_token": token} if token else {})
        page = api.get("/v1/incidents", params=params).json()
        pages.append([i["id"] for i in page["items"]])
        token = page["next_page_token"]
        if not token:
            break

    assert pages == [ids[::-1][0:2], ids[::-1][2:4], ids[::-1][4:5]]
    lost = api.get("/v1/incidents", params={"type": "lost"}).json()["items"]
    assert sorted(i["id"] for i in lost) == sorted([ids[1], ids[3]])
    window = api.get(
        "/v1/incidents",
        params={
            "opened_after": "2026-03-12T09:45:00Z",
            "opened_before": "2026-03-12T10:05:00+00:00",
        },
    )
    assert [i["id"] for i in window.json()["items"]] == [ids[3], ids[2]]
    assert api.get("/v1/incidents", params={"carrier": "ups"}).json()["items"] == []
    assert api.get("/v1/incidents", params={"source": "customer"}).json()["items"] != []
    assert api.get("/v1/incidents", params={"page_size": 0}).status_code == 422
    big = api.get("/v1/incidents", params={"page_size": 100000})
    assert big.status_code == 200
    assert len(big.json()["items"]) == 5


def test_customer_contact_action_sets_first_response(api: ApiClient, clock: FakeClock) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()
    clock.advance(hours=2)
    url = f"/v1/incidents/{incident['id']}"

    note = api.post(f"{url}/actions", json={"kind": "note", "text": "Checked UPS site"})
    contact = api.post(
        f"{url}/actions",
        json={
            "kind": "customer_contacted",
            "text": "Apologised by e-mail, promised update Friday",
            "occurred_at": "2026-03-12T10:00:00Z",
        },
    )
    future = api.post(
        f"{url}/actions", json={"kind": "note", "text": "x", "occurred_at": "2026-04-01T00:00:00Z"}
    )

    assert note.status_code == 201
    assert note.json()["kind"] == "note"
    assert note.json()["actor"]["name"] == "agent-anna"
    assert contact.status_code == 201
    assert api.get(url).json()["first_response_at"] == "2026-03-12T10:00:00Z"
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "occurred_at"


def test_concurrent_patches_with_one_etag_let_exactly_one_through(api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"])
    url = f"/v1/incidents/{incident.json()['id']}"
    etag = incident.headers["etag"]
    causes = ["weather", "peak_season", "customs_inspection", "carrier_delay"]
    start = threading.Barrier(len(causes))

    def patch(cause: str) -> tuple[int, str]:
        start.wait()
        response = api.patch(url, json={"root_cause": cause}, headers={"If-Match": etag})
        return response.status_code, cause

    with ThreadPoolExecutor(max_workers=len(causes)) as pool:
        outcomes = list(pool.map(patch, causes))

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200, 412, 412, 412]
    [winner] = [cause for status, cause in outcomes if status == 200]
    stored = api.get(url).json()
    assert stored["root_cause"] == winner
    assert stored["version"] == 2
