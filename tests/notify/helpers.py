"""Plain helpers for the e-mail stories: an incident with a customer, messages, the job."""

from __future__ import annotations

from typing import Any

import anyio

from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.db.engine import Database
from app.notify.job import dispatch
from tests.factories import ApiClient, open_incident, register_parcel

DELAY_NOTICE = {
    "channel": "email",
    "template_key": "delay_notice",
    "params": {"reason": "peak_season"},
    "send": True,
}


def new_incident(api: ApiClient, **parcel_overrides: Any) -> dict[str, Any]:
    parcel = register_parcel(api, **parcel_overrides)
    response = open_incident(api, parcel["id"])
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def customer(email: str | None, **more: Any) -> dict[str, Any]:
    return {"name": "Maria Schmidt", "email": email, "locale": "de-DE", **more}


def send(api: ApiClient, incident: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    response = api.post(f"/v1/incidents/{incident['id']}/messages", json=DELAY_NOTICE | overrides)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def message(api: ApiClient, sent: dict[str, Any]) -> dict[str, Any]:
    incident_id = sent["incident_id"]
    response = api.get(f"/v1/incidents/{incident_id}/messages/{sent['id']}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def delivery_entries(api: ApiClient, incident: dict[str, Any]) -> list[str]:
    items = api.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
    return [i["summary"] for i in items if i.get("kind") == "message_delivery"]


def tick(db: Database, settings: Settings, clock: Any, **kw: Any) -> dict[str, int]:
    """One ``deliver-messages`` tick as the scheduler runs it (on this test's settings)."""
    ctx = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=clock)
    return anyio.run(lambda: dispatch(ctx, **kw))
