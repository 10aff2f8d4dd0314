"""Returns, repeated failed deliveries and customs asking for money open their own incidents."""

from __future__ import annotations

from typing import Any

import pytest

from app.auto_incidents.service import return_reason
from app.db.engine import Database
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.jobs import events, run_job


def _incidents(api: ApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/v1/incidents").json()["items"]
    return items


def _push(api: ApiClient, parcel_id: str, clock: FakeClock, status: str, words: str) -> None:
    scan = {
        "status": status,
        "occurred_at": clock.now.isoformat(),
        "description": words,
        "location": {"country": "DE"},
    }
    response = api.post(f"/v1/parcels/{parcel_id}/scans", json={"scans": [scan]})
    assert response.status_code == 200, response.text


def _moving_parcel(api: ApiClient, clock: FakeClock, number: str) -> str:
    parcel = register_parcel(api, tracking_number=number, carrier=None, shipped_at=None)
    clock.advance(days=1)
    run_job(api, "poll")
    return str(parcel["id"])


def test_a_parcel_returned_to_sender_opens_a_returned_incident_with_the_reason(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    register_parcel(ops, tracking_number="SANDBOX-RETURNED-1", carrier=None, shipped_at=None)
    clock.advance(days=11)  # refused at the door, then returned to sender
    run_job(ops, "poll")

    assert run_job(ops, "detect-stuck")["opened"] == 1
    [incident] = _incidents(ops)
    assert incident["type"] == "returned"
    assert "refused" in incident["next_step"]["action"]
    timeline = ops.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
    opened = next(e for e in timeline if e.get("kind") == "opened")
    assert opened["data"]["detection"]["return_reason"] == "refused"
    assert opened["data"]["suggested_template"] == "parcel_returned"
    assert run_job(ops, "detect-stuck")["opened"] == 0  # one incident, however many ticks


def test_a_delay_incident_becomes_a_return_when_the_carrier_sends_it_back(
    ops: ApiClient, clock: FakeClock
) -> None:
    parcel_id = _moving_parcel(ops, clock, "SANDBOX-STALLED-R1")
    clock.advance(days=10)
    run_job(ops, "poll")
    assert run_job(ops, "detect-stuck")["opened"] == 1
    _push(ops, parcel_id, clock, "returned_to_sender", "Returned to sender: insufficient address")

    tick = run_job(ops, "detect-stuck")

    assert (tick["opened"], tick.get("reclassified")) == (0, 1)
    [incident] = _incidents(ops)
    assert incident["type"] == "returned"
    assert "Confirm the delivery address" in incident["next_step"]["action"]


def test_the_second_failed_delivery_attempt_opens_a_delivery_failed_incident(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    parcel_id = _moving_parcel(ops, clock, "SANDBOX-STALLED-F1")
    _push(ops, parcel_id, clock, "failed_attempt", "Delivery attempted: nobody home")
    assert run_job(ops, "detect-stuck")["opened"] == 0  # one attempt: the carrier tries again
    clock.advance(hours=26)
    _push(ops, parcel_id, clock, "failed_attempt", "Second attempt: nobody home")
    run_job(ops, "poll")  # detection judges parcels of a polled carrier once freshly polled

    assert run_job(ops, "detect-stuck")["opened"] == 1
    [incident] = _incidents(ops)
    assert incident["type"] == "delivery_failed"
    assert "2 attempts" in incident["next_step"]["action"]
    assert events(db, "parcel.stuck") == []  # failed attempts are not silence
    assert len(events(db, "incident.opened")) == 1


def test_customs_asking_for_duties_opens_a_customs_incident_at_once(
    ops: ApiClient, clock: FakeClock
) -> None:
    parcel_id = _moving_parcel(ops, clock, "SANDBOX-STALLED-C1")
    _push(ops, parcel_id, clock, "customs_hold", "Held by customs: import duties must be paid")

    assert run_job(ops, "detect-stuck")["opened"] == 1
    [incident] = _incidents(ops)
    assert incident["type"] == "customs"
    assert "payment or documents" in incident["next_step"]["action"]


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("Returned: addressee unknown at this address", "wrong_address"),
        ("Return to sender - import duties unpaid", "duties_unpaid"),
        ("Refused by recipient", "refused"),
        ("Not collected from the service point within 14 days", "not_collected"),
        ("Returned to sender", "other"),
    ],
)
def test_the_carriers_words_give_the_return_reason(words: str, reason: str) -> None:
    assert return_reason(words) == reason
