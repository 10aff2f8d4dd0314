"""One ISO 8601 form for every time in stored JSON: timeline data and event payloads write
times as the API does (``2026-03-12T09:30:00Z``), and entries written before still verify."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from app.db.engine import Database
from app.incidents import timeline
from app.incidents.models import TimelineEntry
from tests.factories import ApiClient, FakeClock, open_incident, register_parcel
from tests.jobs import events, run_job

API_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def times_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON document that is a date with a time, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from times_in(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from times_in(item, f"{path}.{index}")
    elif isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
        yield path, value


def test_every_time_in_an_incidents_timeline_data_has_the_apis_form(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    parcel = register_parcel(
        ops, tracking_number="SANDBOX-STALLED-0001", carrier=None, shipped_at=None
    )
    clock.advance(days=10)
    run_job(ops, "poll")
    assert run_job(ops, "detect-stuck")["opened"] == 1
    [incident] = ops.get("/v1/incidents").json()["items"]
    moved = {
        "status": "in_transit",
        "occurred_at": "2026-03-22T10:15:00+01:00",
        "description": "Arrived at destination hub",
    }
    assert ops.post(f"/v1/parcels/{parcel['id']}/scans", json={"scans": [moved]}).is_success
    patched = ops.patch(
        f"/v1/incidents/{incident['id']}",
        json={"next_step": {"action": "Call the hub", "due_at": "2026-03-23T12:00:00+01:00"}},
        headers={"If-Match": ops.get(f"/v1/incidents/{incident['id']}").headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    customer = open_incident(
        ops, parcel["id"], customer_reported_at="2026-03-21T18:45:30.250+02:00"
    ).json()

    found: list[tuple[str, str]] = []
    for opened in (incident, customer):
        items = ops.get(f"/v1/incidents/{opened['id']}/timeline").json()["items"]
        for item in items:
            if item["item"] == "entry":
                found += [(f"{item['kind']}.{p}", v) for p, v in times_in(item["data"])]
        assert ops.get(f"/v1/incidents/{opened['id']}/timeline/verify").json()["valid"] is True

    assert [(where, value) for where, value in found if not API_TIME.match(value)] == []
    assert {where for where, _ in found} >= {"opened.detection.since", "opened.next_step.due_at"}
    assert ("movement_resumed.scan_at", "2026-03-22T09:15:00Z") in found
    assert ("next_step_set.due_at", "2026-03-23T11:00:00Z") in found
    assert ("opened.customer_reported_at", "2026-03-21T16:45:30.250000Z") in found


def test_every_time_in_an_event_payload_has_the_apis_form(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    register_parcel(ops, tracking_number="SANDBOX-STALLED-0002", carrier=None, shipped_at=None)
    clock.advance(days=10)
    run_job(ops, "poll")
    run_job(ops, "detect-stuck")

    stored = events(db)
    found = [(e["type"], p, v) for e in stored for p, v in times_in(e["payload"])]

    assert {e["type"] for e in stored} >= {"parcel.stuck", "incident.opened"}
    assert [(t, where, value) for t, where, value in found if not API_TIME.match(value)] == []
    assert ("parcel.stuck", "detection.since") in {(t, where) for t, where, _ in found}


def test_an_entry_written_in_the_old_form_still_verifies(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    parcel = register_parcel(api)
    incident = open_incident(api, parcel["id"]).json()
    with db.session() as session:
        [first] = timeline.entries_for(session, uuid.UUID(incident["id"]))
        old = TimelineEntry(
            tenant_id=first.tenant_id,
            incident_id=first.incident_id,
            seq=2,
            kind="note",
            actor_type="api_key",
            actor_id=None,
            actor_name="agent-anna",
            hash_version=1,  # before migration 0010: the name alone was hashed
            summary="written by an older version",
            data=json.dumps(
                {"due_at": datetime(2026, 12, 6, 2, 36, 32, tzinfo=UTC)},
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
                default=str,  # how entries were written before one time format
            ),
            occurred_at=clock.now,
            recorded_at=clock.now,
            prev_hash=first.hash,
            hash="",
        )
        old.hash = timeline.entry_hash(old)
        session.add(old)
        session.commit()

    items = api.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
    verdict = api.get(f"/v1/incidents/{incident['id']}/timeline/verify").json()

    assert items[-1]["data"] == {"due_at": "2026-12-06 02:36:32+00:00"}  # kept as it was hashed
    assert (verdict["valid"], verdict["entries"]) == (True, 2)
