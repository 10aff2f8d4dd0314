"""Subscriptions through the API: the secret shown once, stored encrypted, tenants apart."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.db.engine import Database
from app.webhooks.dispatch.sign import secret_key
from tests.factories import ApiClient, FakeClock, new_api_key

ENDPOINTS = "/v1/webhook-endpoints"


def subscribe(
    api: ApiClient, url: str = "https://127.0.0.1/hook", **fields: object
) -> dict[str, Any]:
    response = api.post(ENDPOINTS, json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_creating_an_endpoint_shows_its_secret_once(api: ApiClient) -> None:
    created = subscribe(
        api, event_types=["incident.resolved", "incident.opened"], description="helpdesk"
    )

    assert created["secret"].startswith("whsec_")
    assert 24 <= len(secret_key(created["secret"])) <= 64
    assert created["event_types"] == ["incident.opened", "incident.resolved"]
    assert created["enabled"] is True
    assert created["description"] == "helpdesk"
    fetched = api.get(f"{ENDPOINTS}/{created['id']}")
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    assert created["secret"] not in fetched.text
    listed = api.get(ENDPOINTS).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    assert created["secret"] not in str(listed)


def test_event_types_default_to_every_type(api: ApiClient) -> None:
    assert subscribe(api)["event_types"] == ["*"]


def test_the_secret_is_stored_encrypted(api: ApiClient, db: Database) -> None:
    created = subscribe(api)

    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_encrypted FROM webhook_endpoints")).scalar_one()
    assert created["secret"] not in stored
    assert created["secret"].removeprefix("whsec_") not in stored


def test_unknown_event_types_are_refused_naming_the_field(api: ApiClient) -> None:
    response = api.post(ENDPOINTS, json={"url": "https://127.0.0.1/", "event_types": ["nope"]})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "event_types"


def test_another_tenants_endpoint_is_404(api: ApiClient, other_api: ApiClient) -> None:
    created = subscribe(api)

    for call in (
        other_api.get(f"{ENDPOINTS}/{created['id']}"),
        other_api.patch(f"{ENDPOINTS}/{created['id']}", json={"description": "mine"}),
        other_api.delete(f"{ENDPOINTS}/{created['id']}"),
        other_api.post(f"{ENDPOINTS}/{created['id']}/rotate-secret"),
        other_api.post(f"{ENDPOINTS}/{created['id']}/test"),
        other_api.get(f"{ENDPOINTS}/{created['id']}/deliveries"),
        other_api.post(f"{ENDPOINTS}/{created['id']}/replay", json={"since": "2026-01-01T00:00Z"}),
    ):
        assert call.status_code == 404, call.request.url
        assert call.headers["content-type"] == "application/problem+json"
    assert other_api.get(ENDPOINTS).json()["items"] == []


def test_managing_webhooks_needs_the_scope(client: TestClient, db: Database) -> None:
    reader = ApiClient(client, new_api_key(db, tenant="acme", scopes=("read",)))

    response = reader.post(ENDPOINTS, json={"url": "https://127.0.0.1/"})

    assert response.status_code == 403
    assert response.json()["required_scope"] == "webhooks:manage"


def test_patch_changes_only_what_is_sent(api: ApiClient, clock: FakeClock) -> None:
    created = subscribe(api, description="bot", event_types=["parcel.stuck"])
    clock.advance(minutes=5)

    response = api.patch(f"{ENDPOINTS}/{created['id']}", json={"enabled": False})

    body = response.json()
    assert response.status_code == 200
    assert body["enabled"] is False
    assert body["disabled_reason"] == "manual"
    assert body["description"] == "bot"
    assert body["event_types"] == ["parcel.stuck"]
    again = api.patch(f"{ENDPOINTS}/{created['id']}", json={"enabled": True, "description": None})
    assert again.json()["enabled"] is True
    assert again.json()["disabled_reason"] is None
    assert again.json()["description"] is None
    nulled = api.patch(f"{ENDPOINTS}/{created['id']}", json={"url": None})
    assert nulled.status_code == 422
    assert nulled.json()["errors"][0]["field"] == "url"


def test_rotating_the_secret_returns_a_new_one_and_the_overlap(
    api: ApiClient, clock: FakeClock
) -> None:
    created = subscribe(api)

    rotated = api.post(f"{ENDPOINTS}/{created['id']}/rotate-secret")

    assert rotated.status_code == 200
    body = rotated.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret"] != created["secret"]
    assert body["previous_secret_expires_at"] == "2026-03-13T09:30:00Z"
    fetched = api.get(f"{ENDPOINTS}/{created['id']}").json()
    assert fetched["previous_secret_expires_at"] == "2026-03-13T09:30:00Z"


def test_deleting_an_endpoint_hides_it(api: ApiClient) -> None:
    created = subscribe(api)

    assert api.delete(f"{ENDPOINTS}/{created['id']}").status_code == 204

    assert api.get(f"{ENDPOINTS}/{created['id']}").status_code == 404
    assert api.get(ENDPOINTS).json()["items"] == []


def test_endpoints_are_paged_newest_first(api: ApiClient, clock: FakeClock) -> None:
    ids = []
    for _ in range(5):
        ids.append(subscribe(api)["id"])
        clock.advance(seconds=1)

    first = api.get(ENDPOINTS, params={"page_size": 2}).json()
    second = api.get(
        ENDPOINTS, params={"page_size": 2, "page_token": first["next_page_token"]}
    ).json()
    third = api.get(
        ENDPOINTS, params={"page_size": 2, "page_token": second["next_page_token"]}
    ).json()

    seen = [e["id"] for page in (first, second, third) for e in page["items"]]
    assert seen == list(reversed(ids))
    assert third["next_page_token"] is None


def test_event_types_lists_every_type_with_an_example(api: ApiClient) -> None:
    response = api.get("/v1/event-types")

    assert response.status_code == 200
    items = {item["type"]: item for item in response.json()["items"]}
    assert {"incident.opened", "incident.resolved", "webhook.test"} <= set(items)
    for name, item in items.items():
        assert item["description"]
        assert item["example"]["type"] == name
        assert set(item["example"]) == {"type", "timestamp", "data"}
    opened = items["incident.opened"]["example"]["data"]
    assert opened["incident"]["number"].startswith("INC-")
    assert opened["links"]["incident"].endswith(f"/v1/incidents/{opened['incident']['id']}")
    assert opened["links"]["parcel"].endswith(f"/v1/parcels/{opened['parcel']['id']}")
