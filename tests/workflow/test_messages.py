"""Recording customer messages: rendered text, first response, timeline entry, event."""

from __future__ import annotations

from app.db.engine import Database
from tests.factories import ApiClient, FakeClock
from tests.workflow.helpers import events, new_incident, url


def test_a_template_message_is_rendered_recorded_and_announced(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    incident = new_incident(api)
    clock.advance(hours=3)

    response = api.post(
        url(incident, "/messages"),
        json={
            "channel": "marketplace",
            "template_key": "in_transit_update",
            "params": {"discount_percent": "10", "discount_code": "SORRY10"},
        },
    )

    assert response.status_code == 201, response.text
    message = response.json()
    assert response.headers["location"] == url(incident, f"/messages/{message['id']}")
    assert (message["direction"], message["channel"], message["language"]) == (
        "out",
        "marketplace",
        "de",
    )
    assert message["subject"] == "Ihre Bestellung SO-10023 ist unterwegs"
    assert message["summary"] == message["subject"]
    assert "10\xa0% Rabatt auf Ihre nächste Bestellung mit dem Code SORRY10" in message["body"]
    assert message["body_html"].startswith("<p>Hallo Maria Schmidt,</p>")
    row = api.get(url(incident)).json()
    assert row["first_response_at"] == "2026-03-12T12:30:00Z"
    entry = api.get(url(incident, "/timeline")).json()["items"][-1]
    assert entry["kind"] == "message_sent"
    assert entry["data"]["body"] == message["body"]  # the text is in the hash chain
    assert api.get(url(incident, "/timeline/verify")).json()["valid"] is True
    kind, payload = events(db, incident["id"])[-1]
    assert kind == "message.created"
    assert payload["message"]["id"] == message["id"]
    assert payload["message"]["body"] == message["body"]
    assert payload["incident"]["first_response_at"] == "2026-03-12T12:30:00Z"


def test_only_the_first_outbound_message_sets_the_first_response(
    api: ApiClient, clock: FakeClock
) -> None:
    incident = new_incident(api)
    messages = url(incident, "/messages")

    clock.advance(hours=1)
    inbound = api.post(
        messages, json={"channel": "email", "direction": "in", "text": "Where is my parcel?"}
    )
    after_inbound = api.get(url(incident)).json()["first_response_at"]
    clock.advance(hours=1)
    answer = api.post(
        messages,
        json={"channel": "phone", "text": "Called: parcel is in customs", "summary": "Phoned"},
    )
    clock.advance(hours=1)
    api.post(messages, json={"channel": "email", "text": "Follow-up"})

    assert inbound.status_code == 201
    assert inbound.json()["summary"] == "Where is my parcel?"
    assert after_inbound is None
    assert answer.json()["summary"] == "Phoned"
    assert answer.json()["body_html"] == "<p>Called: parcel is in customs</p>"
    assert api.get(url(incident)).json()["first_response_at"] == "2026-03-12T11:30:00Z"
    listed = api.get(messages, params={"page_size": 2}).json()
    rest = api.get(messages, params={"page_size": 2, "page_token": listed["next_page_token"]})
    assert [m["direction"] for m in listed["items"]] == ["in", "out"]
    assert [m["body"] for m in rest.json()["items"]] == ["Follow-up"]
    assert rest.json()["next_page_token"] is None


def test_message_validation_names_the_field(api: ApiClient) -> None:
    incident = new_incident(api)
    messages = url(incident, "/messages")
    cases = {
        "text": {"channel": "email", "template_key": "incident_closed", "text": "both"},
        "template_key": {"channel": "email", "direction": "in", "template_key": "incident_closed"},
        "channel": {"channel": "pigeon", "text": "hi"},
        "params": {"channel": "email", "text": "hi", "params": {"reason": "x"}},
        "occurred_at": {"channel": "email", "text": "hi", "occurred_at": "2027-01-01T00:00:00Z"},
    }
    for field, body in cases.items():
        response = api.post(messages, json=body)

        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == field, response.json()
    assert api.get(messages).json()["items"] == []


def test_another_tenants_messages_are_not_found(api: ApiClient, other_api: ApiClient) -> None:
    incident = new_incident(api)
    message = api.post(url(incident, "/messages"), json={"channel": "chat", "text": "Hi"}).json()

    assert other_api.get(url(incident, "/messages")).status_code == 404
    assert other_api.get(url(incident, f"/messages/{message['id']}")).status_code == 404
    assert (
        other_api.post(url(incident, "/messages"), json={"channel": "chat", "text": "x"})
    ).status_code == 404
    preview = other_api.post(
        url(incident, "/messages/preview"), json={"template_key": "incident_closed"}
    )
    assert preview.status_code == 404
