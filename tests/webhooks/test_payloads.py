"""The body we send: its shape, the 20 KB cap, and examples that match real events."""

from __future__ import annotations

import json
import uuid

from sqlmodel import select

from app.db.engine import Database
from app.db.types import utcnow
from app.outbox.models import Event
from app.webhooks.dispatch.payloads import MAX_BODY_BYTES, event_body, render
from app.webhooks.examples import example_body
from tests.factories import ApiClient, open_incident, register_parcel
from tests.workflow.helpers import new_incident, propose, ready_for_proposal, tell_customer, url

BASE = "https://tracker.example.com"


def test_a_body_over_20_kb_becomes_thin_ids_and_links() -> None:
    data = {
        "incident": {"id": "i-1", "description": "x" * 30_000},
        "parcel": {"id": "p-1"},
        "links": {"incident": f"{BASE}/v1/incidents/i-1"},
    }

    body = render(type="incident.opened", occurred_at=utcnow(), data=data)

    assert len(body) < MAX_BODY_BYTES
    sent = json.loads(body)
    assert sent["data"] == {
        "thin": True,
        "links": {"incident": f"{BASE}/v1/incidents/i-1"},
        "incident": {"id": "i-1"},
        "parcel": {"id": "p-1"},
    }


def test_the_body_is_the_same_bytes_every_time() -> None:
    event = Event(
        id=uuid.uuid4(),
        tenant_id=None,
        type="carrier.recovered",
        occurred_at=utcnow(),
        payload='{"carrier":"ups","note":"caf\\u00e9"}',
    )

    first, second = event_body(event, base_url=BASE), event_body(event, base_url=BASE)

    assert first == second
    assert json.loads(first)["data"] == {"carrier": "ups", "note": "café", "links": {}}


def test_examples_have_the_keys_of_real_events(api: ApiClient, db: Database) -> None:
    parcel = register_parcel(api, carrier="sandbox", tracking_number="SANDBOX-STALLED-0004")
    open_incident(api, parcel["id"])
    api.post(
        f"/v1/parcels/{parcel['id']}/scans",
        json={
            "scans": [
                {
                    "status": "in_transit",
                    "occurred_at": "2026-03-12T08:00:00Z",
                    "description": "Departed facility",
                }
            ]
        },
    )

    with db.session() as session:
        real = {e.type: e for e in session.exec(select(Event))}
    assert {"incident.opened", "parcel.status_changed"} <= set(real)
    for type_, event in real.items():
        sent = json.loads(event_body(event, base_url=BASE))
        example = example_body(type_)
        assert set(sent) == set(example) == {"type", "timestamp", "data"}
        assert set(sent["data"]) == set(example["data"]), type_
        for name in ("incident", "parcel"):
            if name in sent["data"]:
                assert set(sent["data"][name]) == set(example["data"][name]), (type_, name)


def test_workflow_examples_have_the_keys_of_real_workflow_events(
    api: ApiClient, db: Database
) -> None:
    """message.*, claim.* and compensation.* examples are built through the same views."""
    incident = new_incident(api)
    tell_customer(api, incident, amount="59.90")
    ready_for_proposal(api, incident)
    propose(api, incident)
    claim = api.post(
        url(incident, "/claims"),
        json={"claim_type": "damaged", "amount": "59.90", "currency": "EUR"},
    )
    assert claim.status_code == 201, claim.text

    with db.session() as session:
        real = {e.type: e for e in session.exec(select(Event))}
    assert {"message.created", "compensation.proposed", "claim.created"} <= set(real)
    for type_ in ("message.created", "compensation.proposed", "claim.created"):
        sent = json.loads(event_body(real[type_], base_url=BASE))["data"]
        example = example_body(type_)["data"]
        assert set(sent) == set(example), type_
        for name in ("message", "proposal", "claim", "incident"):
            if name in sent:
                assert set(sent[name]) == set(example[name]), (type_, name)
