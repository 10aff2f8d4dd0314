"""Three incidents that exercise every tracker column, and helpers to read exports back."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from app.db.engine import Database
from app.incidents import service as incidents
from app.incidents.models import Incident
from tests.factories import UPS_NUMBERS, ApiClient, FakeClock, open_incident, register_parcel

FORMULA = '=HYPERLINK("http://attacker.example","open me")'


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def set_columns(db: Database, incident_id: str, **values: Any) -> None:
    """Fields the API guards with its own workflow (compensation), set as a seller had them."""
    with db.session() as session:
        incident = session.get(Incident, uuid.UUID(incident_id))
        assert incident is not None
        incidents.save(session, incident, incident.version, values, incident.updated_at)
        session.commit()


def seed_tracker(api: ApiClient, db: Database, clock: FakeClock) -> dict[str, str]:
    """A customs delay being worked on, a damaged parcel resolved, a lost one overdue."""
    start = clock.now
    customs = register_parcel(api)
    _ok(
        api.post(
            f"/v1/parcels/{customs['id']}/scans",
            json={
                "scans": [
                    {
                        "status": "customs_hold",
                        "occurred_at": "2026-03-08T11:00:00+01:00",
                        "description": "Held by import customs",
                        "location": {"city": "Frankfurt", "country": "DE"},
                    }
                ]
            },
        )
    )
    first = _ok(open_incident(api, customs["id"]), 201)
    clock.advance(minutes=10)
    _ok(
        api.post(
            f"/v1/incidents/{first['id']}/actions",
            json={"kind": "carrier_contacted", "text": "UPS trace 88 opened.\nThey call back"},
        ),
        201,
    )
    clock.advance(minutes=10)
    _ok(
        api.post(
            f"/v1/incidents/{first['id']}/actions",
            json={"kind": "customer_contacted", "text": "Told Maria it is at customs"},
        ),
        201,
    )
    etag = api.get(f"/v1/incidents/{first['id']}").headers["etag"]
    _ok(
        api.patch(
            f"/v1/incidents/{first['id']}",
            headers={"If-Match": etag},
            json={
                "communication_summary": "Maria knows it is held at customs in Frankfurt",
                "next_step": {
                    "action": "Call the UPS customs desk",
                    "due_at": (start + timedelta(days=3)).isoformat(),
                },
                "root_cause": "customs_inspection",
                "substantiated": True,
                "responsible_department": "Logistics",
            },
        )
    )

    damaged = register_parcel(api, order_id="SO-2", tracking_number=UPS_NUMBERS[1])
    second = _ok(open_incident(api, damaged["id"], type="damaged", source="agent"), 201)
    clock.advance(minutes=40)
    _ok(api.post(f"/v1/incidents/{second['id']}/transitions", json={"to": "in_progress"}))
    _ok(
        api.post(
            f"/v1/incidents/{second['id']}/transitions",
            json={"to": "resolved", "resolution": "delivered"},
        )
    )
    set_columns(
        db,
        second["id"],
        compensation_kind="discount",
        compensation_amount=Decimal("5.50"),
        compensation_currency="EUR",
        compensation_percent=Decimal("10"),
        lessons_learned="Pack fragile items twice",
    )

    lost = register_parcel(
        api,
        order_id="SO-3",
        tracking_number="SANDBOX-INTRANSIT-0003",
        carrier="sandbox",
        customer={"name": "Ana Lima", "email": "ana@example.com"},
        origin_country="CN",
        destination_country="US",
    )
    third = _ok(
        open_incident(
            api,
            lost["id"],
            type="lost",
            description=FORMULA,
            next_step={
                "action": "Ask Ana to check with neighbours",
                "due_at": clock.now.isoformat(),
            },
        ),
        201,
    )
    clock.advance(hours=2)  # the third incident's next step is now overdue
    return {"customs": first["id"], "damaged": second["id"], "lost": third["id"]}


def read_csv(content: bytes) -> list[dict[str, str]]:
    text = content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))
