"""A tenant's sender: its own name, From and Reply-To over RT_SMTP_FROM, checked at the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.db.engine import Database
from tests.factories import ApiClient, FakeClock, new_api_key

SENDER = "/v1/settings/sender"


def test_without_settings_of_its_own_a_tenant_sends_as_the_service(api: ApiClient) -> None:
    response = api.get(SENDER)

    assert response.status_code == 200
    assert response.json() == {
        "sender_name": None,
        "from_address": None,
        "reply_to": None,
        "effective_from": "Care Desk <care@tracker.example>",
        "effective_reply_to": None,
        "sending": True,
        "updated_at": None,
    }


def test_a_tenant_sets_its_sender_and_clears_it_again(
    api: ApiClient, other_api: ApiClient, clock: FakeClock
) -> None:
    body = {"sender_name": "Acme Care", "reply_to": "Help@Acme.Example"}

    saved = api.put(SENDER, json=body)

    assert saved.status_code == 200, saved.text
    assert saved.json() | {"updated_at": None} == {
        "sender_name": "Acme Care",
        "from_address": None,
        "reply_to": "Help@acme.example",  # the domain normalised by email-validator
        "effective_from": "Acme Care <care@tracker.example>",
        "effective_reply_to": "Help@acme.example",
        "sending": True,
        "updated_at": None,
    }
    assert api.get(SENDER).json() == saved.json()
    assert other_api.get(SENDER).json()["effective_from"] == "Care Desk <care@tracker.example>"

    clock.advance(hours=1)
    cleared = api.put(SENDER, json={}).json()
    assert (cleared["sender_name"], cleared["reply_to"]) == (None, None)
    assert cleared["effective_from"] == "Care Desk <care@tracker.example>"
    assert cleared["updated_at"] == "2026-03-12T10:30:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_address": "not an address"}, "from_address"),
        ({"reply_to": "help@"}, "reply_to"),
        ({"sender_name": "Acme\r\nBcc: everyone@example.com"}, "sender_name"),
        ({"sender_name": ""}, "sender_name"),
        ({"sender": "Acme"}, "sender"),
    ],
)
def test_a_bad_sender_is_refused_naming_the_field(
    api: ApiClient, body: dict[str, str], field: str
) -> None:
    response = api.put(SENDER, json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert api.get(SENDER).json()["updated_at"] is None


def test_only_an_admin_key_changes_the_sender(client: TestClient, db: Database) -> None:
    reader = ApiClient(client, new_api_key(db, tenant="acme", name="reader", scopes=("read",)))

    assert reader.get(SENDER).status_code == 200
    refused = reader.put(SENDER, json={"sender_name": "Someone"})
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == "admin"
