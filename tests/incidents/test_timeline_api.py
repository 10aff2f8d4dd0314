"""The timeline: every change recorded, merged with scans, and tamper-evident."""

from __future__ import annotations

import itertools
import threading

from sqlalchemy import text

from app.db.engine import Database
from tests.factories import ApiClient, FakeClock, open_incident, register_parcel


def test_timeline_records_every_change_with_its_actor(api: ApiClient, clock: FakeClock) -> None:
    parcel = register_parcel(api)
    api.post(
        f"/v1/parcels/{parcel['id']}/scans",
        json={
            "scans": [
                {
                    "status": "accepted",
                    "occurred_at": "2026-03-02T10:00:00+08:00",
                    "description": "Picked up",
                    "location": {"city": "Shenzhen", "country": "CN"},
                }
            ]
        },
    )
    created = open_incident(api, parcel["id"])
    url = f"/v1/incidents/{created.json()['id']}"
    clock.advance(minutes=5)
    api.post(f"{url}/actions", json={"kind": "carrier_contacted", "text": "Opened UPS trace 88"})
    api.patch(
        url, json={"root_cause": "carrier_delay"}, headers={"If-Match": created.headers["etag"]}
    )
    api.post(f"{url}/transitions", json={"to": "resolved", "resolution": "delivered"})

    items = api.get(f"{url}/timeline").json()["items"]

    assert [i["item"] for i in items] == ["scan", "entry", "entry", "entry", "entry"]
    assert items[0]["scan"]["location"]["city"] == "Shenzhen"
    entries = items[1:]
    assert [e["kind"] for e in entries] == [
        "opened",
        "carrier_contacted",
        "updated",
        "status_changed",
    ]
    assert {e["actor"]["name"] for e in entries} == {"agent-anna"}
    assert {e["actor"]["type"] for e in entries} == {"api_key"}
    assert len({e["actor"]["id"] for e in entries}) == 1
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[2]["data"]["changes"]["root_cause"] == {"from": None, "to": "carrier_delay"}
    assert entries[3]["summary"] == "Status open -> resolved (delivered)"
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(entries))


def test_verify_passes_then_detects_an_edited_entry(api: ApiClient, db: Database) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()
    url = f"/v1/incidents/{incident['id']}"
    for text_ in ("Called customer", "Called carrier", "Sent photos to carrier"):
        api.post(f"{url}/actions", json={"kind": "note", "text": text_})
    assert api.get(f"{url}/timeline/verify").json() == {
        "incident_id": incident["id"],
        "valid": True,
        "entries": 4,
        "head_hash": api.get(f"{url}/timeline").json()["items"][-1]["hash"],
        "first_broken_seq": None,
        "reason": None,
    }

    with db.engine.begin() as conn:  # someone edits the stored evidence behind our back
        conn.execute(text("UPDATE timeline_entries SET summary = 'Refund promised' WHERE seq = 3"))

    verdict = api.get(f"{url}/timeline/verify").json()
    assert verdict["valid"] is False
    assert verdict["first_broken_seq"] == 3
    assert verdict["reason"] == "entry content altered"


def test_verify_detects_a_deleted_entry(api: ApiClient, db: Database) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()
    url = f"/v1/incidents/{incident['id']}"
    for text_ in ("one", "two"):
        api.post(f"{url}/actions", json={"kind": "note", "text": text_})

    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM timeline_entries WHERE seq = 2"))

    verdict = api.get(f"{url}/timeline/verify").json()
    assert (verdict["valid"], verdict["first_broken_seq"]) == (False, 2)


def race_two_patches(api: ApiClient, url: str, etag: str) -> list[int]:
    """Send two PATCHes with the same If-Match at the same instant."""
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def patch(cause: str) -> None:
        barrier.wait()
        response = api.patch(url, json={"root_cause": cause}, headers={"If-Match": etag})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(c,)) for c in ("weather", "peak_season")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_patches_one_wins_one_gets_412(api: ApiClient) -> None:
    for round_ in range(5):
        parcel = register_parcel(
            api,
            tracking_number=f"SANDBOX-STALLED-{round_}",
            carrier="sandbox",
            order_id=f"R-{round_}",
        )
        created = open_incident(api, parcel["id"])
        url = f"/v1/incidents/{created.json()['id']}"

        statuses = race_two_patches(api, url, created.headers["etag"])

        assert sorted(statuses) == [200, 412]
        assert api.get(url).json()["version"] == 2
        assert api.get(f"{url}/timeline/verify").json()["valid"] is True


def test_concurrent_actions_keep_the_chain_intact(api: ApiClient) -> None:
    incident = open_incident(api, register_parcel(api)["id"]).json()
    url = f"/v1/incidents/{incident['id']}"
    barrier = threading.Barrier(6)

    def act(i: int) -> None:
        barrier.wait()
        assert api.post(f"{url}/actions", json={"kind": "note", "text": f"n{i}"}).status_code == 201

    threads = [threading.Thread(target=act, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    verdict = api.get(f"{url}/timeline/verify").json()
    assert (verdict["valid"], verdict["entries"]) == (True, 7)
