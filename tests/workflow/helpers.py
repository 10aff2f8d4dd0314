"""Plain helpers for the workflow tests: incidents at a given step, files, events."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image
from sqlmodel import col, select

from app.db.engine import Database
from app.outbox.models import Event
from tests.factories import ApiClient, open_incident, register_parcel


def new_incident(api: ApiClient, **parcel_overrides: Any) -> dict[str, Any]:
    parcel = register_parcel(api, **parcel_overrides)
    response = open_incident(api, parcel["id"], type="damaged")
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def url(incident: dict[str, Any], tail: str = "") -> str:
    return f"/v1/incidents/{incident['id']}{tail}"


def step(
    api: ApiClient, incident: dict[str, Any], action: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = api.post(url(incident, f"/process/{action}"), json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def ready_for_proposal(api: ApiClient, incident: dict[str, Any]) -> None:
    step(
        api, incident, "assessment", {"substantiated": True, "reason": "Photos show a crushed box"}
    )
    step(api, incident, "department", {"department": "Logistics"})
    step(api, incident, "root-cause", {"root_cause": "packaging", "detail": "Single wall box"})


def propose(
    api: ApiClient, incident: dict[str, Any], amount: str = "59.90", kind: str = "refund"
) -> dict[str, Any]:
    compensation = {"kind": kind, "amount": amount, "currency": "EUR"}
    return step(
        api, incident, "proposal", {"solution": "Refund the order", "compensation": compensation}
    )


def tell_customer(api: ApiClient, incident: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.post(
        url(incident, "/messages"),
        json={"channel": "email", "template_key": "refund_confirmed", "params": params},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def events(db: Database, incident_id: str) -> list[tuple[str, dict[str, Any]]]:
    with db.session() as session:
        rows = session.exec(select(Event).order_by(col(Event.occurred_at))).all()
        return [(e.type, json.loads(e.payload)) for e in rows if str(e.incident_id) == incident_id]


def event_types(db: Database, incident_id: str) -> list[str]:
    return [kind for kind, _ in events(db, incident_id)]


def entry_kinds(api: ApiClient, incident: dict[str, Any]) -> list[str]:
    items = api.get(url(incident, "/timeline")).json()["items"]
    return [item["kind"] for item in items if item["item"] == "entry"]


def jpeg(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def pdf_receipt() -> bytes:
    """A small real PDF (a receipt), made with the same library the packs use."""
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(0, 10, "Receipt SO-10023: 59.90 EUR")
    return bytes(document.output())
