"""Plain helpers for the e-mail stories: an incident with a customer, messages, the job."""

from __future__ import annotations

import uuid
from typing import Any

import anyio

from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.db.engine import Database
from app.incidents.service import get_incident
from app.notify.job import dispatch
from app.parcels.models import Parcel
from app.workflow.messages.delivery import queue_email
from app.workflow.messages.models import CustomerMessage
from tests.factories import ApiClient, open_incident, register_parcel
from tests.jobs import events

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


def delivery_states(db: Database) -> list[str]:
    """The state each ``message.delivery_changed`` event announced, oldest first."""
    return [e["payload"]["message"]["delivery"] for e in events(db, "message.delivery_changed")]


def tick(db: Database, settings: Settings, clock: Any, **kw: Any) -> dict[str, int]:
    """One ``deliver-messages`` tick as the scheduler runs it (on this test's settings)."""
    ctx = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=clock)
    return anyio.run(lambda: dispatch(ctx, **kw))


def queue_notice(
    db: Database, settings: Settings, clock: Any, parcel_id: str, incident_id: str | None = None
) -> CustomerMessage:
    """A proactive notice queued for the parcel's customer, as the notice features queue one."""
    with db.unit_of_work() as session:
        parcel = session.get(Parcel, uuid.UUID(parcel_id))
        assert parcel is not None
        notice = CustomerMessage(
            tenant_id=parcel.tenant_id,
            parcel_id=parcel.id,
            incident_id=uuid.UUID(incident_id) if incident_id else None,
            proactive=True,
            direction="out",
            channel="email",
            language="de",
            subject="Betriebsferien vom 1. bis 3. April",
            body="Hallo Maria,\n\nunser Lager macht vom 1. bis 3. April Pause.",
            body_html="<p>Hallo Maria,</p>\n<p>unser Lager macht vom 1. bis 3. April Pause.</p>",
            summary="Betriebsferien vom 1. bis 3. April",
            actor_type="system",
            actor_name="system",
            occurred_at=clock(),
            created_at=clock(),
        )
        session.add(notice)
        session.flush()
        if notice.incident_id is not None:  # its timeline gets an entry: hold the lock
            get_incident(
                session, tenant_id=parcel.tenant_id, incident_id=notice.incident_id, lock=True
            )
        queue_email(session, message=notice, parcel=parcel, settings=settings, now=clock())
        session.flush()
        session.expunge(notice)
        return notice
