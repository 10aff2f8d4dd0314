"""Everything the customer was told about a parcel, and a later incident that remembers it."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.settings import Settings
from tests.factories import ApiClient, FakeClock, open_incident, register_parcel

HOLIDAY = {"holiday_name": "Spring Festival", "from_date": "2026-02-14", "to_date": "2026-02-22"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1"})


def _notice(api: ApiClient, *parcel_ids: str) -> dict[str, Any]:
    response = api.post(
        "/v1/notices",
        json={
            "filter": {"parcel_ids": list(parcel_ids)},
            "template_key": "holiday_suspension",
            "params": HOLIDAY,
            "dry_run": False,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _entries(api: ApiClient, incident_id: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/incidents/{incident_id}/timeline").json()["items"]
    return [item for item in items if item["item"] == "entry"]


def test_an_incident_opened_after_a_notice_shows_it_on_its_timeline(
    api: ApiClient, clock: FakeClock
) -> None:
    parcel = register_parcel(api)
    notice = _notice(api, parcel["id"])
    told_at = clock.now
    clock.advance(days=2)

    incident = open_incident(api, parcel["id"]).json()

    earlier, opened = _entries(api, incident["id"])[:2]  # the timeline reads by time
    assert opened["kind"] == "opened"
    assert earlier["kind"] == "earlier_message"
    assert earlier["summary"] == (
        "Notice e-mailed to the customer before this incident: "
        "Bestellung SO-10023: kurze Pause über die Feiertage (Spring Festival) (queued)"
    )
    assert earlier["at"] == told_at.isoformat().replace("+00:00", "Z")
    assert earlier["seq"] == opened["seq"] + 1  # appended when the incident opened
    assert earlier["actor"]["type"] == "system"
    assert earlier["data"]["notice_id"] == notice["id"]
    assert earlier["data"]["delivery"] == "queued"
    other = open_incident(api, register_parcel(api, tracking_number="1Z12345E6712345677")["id"])
    assert "earlier_message" not in [e["kind"] for e in _entries(api, other.json()["id"])]


def test_a_notice_that_could_not_go_out_says_why_on_the_later_timeline(api: ApiClient) -> None:
    parcel = register_parcel(api, customer={"name": "Kim", "locale": "en-GB"})  # no e-mail
    _notice(api, parcel["id"])

    incident = open_incident(api, parcel["id"]).json()

    [earlier] = [e for e in _entries(api, incident["id"]) if e["kind"] == "earlier_message"]
    assert earlier["summary"].endswith("(not sent: the customer has no e-mail address)")


def test_a_parcels_messages_list_notices_and_conversations_oldest_first(
    api: ApiClient, other_api: ApiClient, clock: FakeClock
) -> None:
    parcel = register_parcel(api)
    notice = _notice(api, parcel["id"])
    clock.advance(hours=3)
    incident = open_incident(api, parcel["id"]).json()
    clock.advance(hours=1)
    reply = api.post(
        f"/v1/incidents/{incident['id']}/messages",
        json={"channel": "email", "direction": "in", "text": "Where is my parcel?"},
    )
    assert reply.status_code == 201, reply.text

    listed = api.get(f"/v1/parcels/{parcel['id']}/messages")

    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(m["notice_id"], m["incident_id"], m["direction"]) for m in items] == [
        (notice["id"], None, "out"),
        (None, incident["id"], "in"),
    ]
    assert items[0]["proactive"] is True
    assert items[0]["delivery"] == "queued"
    first = api.get(f"/v1/parcels/{parcel['id']}/messages", params={"page_size": 1}).json()
    assert [m["id"] for m in first["items"]] == [items[0]["id"]]
    rest = api.get(
        f"/v1/parcels/{parcel['id']}/messages", params={"page_token": first["next_page_token"]}
    ).json()
    assert [m["id"] for m in rest["items"]] == [items[1]["id"]]
    assert other_api.get(f"/v1/parcels/{parcel['id']}/messages").status_code == 404
    # the incident's own list keeps to the incident
    own = api.get(f"/v1/incidents/{incident['id']}/messages").json()["items"]
    assert [m["direction"] for m in own] == ["in"]
