"""Steps the browser stories share: what the storefront sends, signing in and out, and reading
the API's timeline back to see who did what, in which order."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from tests.desk.conftest import PASSWORD
from tests.factories import new_api_key, parcel_payload

Expected = tuple[str, str]  # (timeline kind, the name of who did it)


def report(served: str, db: Database, *, type: str, description: str) -> dict[str, Any]:
    """The storefront registers Maria's parcel and reports her complaint through the API."""
    key = new_api_key(db, tenant="acme", name="storefront")
    with httpx.Client(base_url=served, headers={"Authorization": f"Bearer {key}"}) as api:
        parcel = api.post("/v1/parcels", json=parcel_payload())
        assert parcel.status_code == 201, parcel.text
        incident = api.post(
            "/v1/incidents",
            json={
                "type": type,
                "source": "customer",
                "parcel_id": parcel.json()["id"],
                "description": description,
            },
        )
        assert incident.status_code == 201, incident.text
        return {"incident": incident.json(), "key": key}


def sign_in(page: Any, served: str, email: str) -> None:
    page.goto(f"{served}/desk")
    assert "/desk/login" in page.url
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:text('Sign in')")
    page.wait_for_url(f"{served}/desk/**")


def sign_out(page: Any) -> None:
    page.click("button:text('Sign out')")
    page.wait_for_url("**/desk/login")


def actor_name(actor: dict[str, Any]) -> str:
    """Who an entry names (``{"type", "id", "name"}``): a person, the storefront's key, ..."""
    return str(actor["name"])


def timeline(served: str, key: str, incident_id: str) -> list[dict[str, Any]]:
    """The incident's own entries (not the carrier's scans) from the API, in recorded order."""
    with httpx.Client(base_url=served, headers={"Authorization": f"Bearer {key}"}) as api:
        answer = api.get(f"/v1/incidents/{incident_id}/timeline")
    assert answer.status_code == 200, answer.text
    entries = [item for item in answer.json()["items"] if item["item"] == "entry"]
    return sorted(entries, key=lambda entry: entry["seq"])


def in_order(entries: list[dict[str, Any]], expected: list[Expected]) -> list[dict[str, Any]]:
    """The entries that match ``expected`` one after the other (others may sit in between);
    fails naming the first step the timeline lacks, with what it holds instead."""
    matched: list[dict[str, Any]] = []
    remaining = iter(entries)
    for kind, name in expected:
        found = next(
            (e for e in remaining if e["kind"] == kind and actor_name(e["actor"]) == name), None
        )
        held = [(e["kind"], actor_name(e["actor"])) for e in entries]
        assert found is not None, f"no {kind} by {name} after {matched[-1:]}; timeline: {held}"
        matched.append(found)
    return matched
