"""A resolved incident stays resolved until the parcel moves again (or for good, if settled)."""

from __future__ import annotations

from typing import Any

from tests.auto_incidents.test_job import _quiet_until_stuck, resolve_as_rejected
from tests.factories import ApiClient, FakeClock
from tests.jobs import run_job


def _incidents(api: ApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/v1/incidents").json()["items"]
    return items


def _moves(api: ApiClient, parcel_id: str, clock: FakeClock) -> None:
    scan = {
        "status": "in_transit",
        "occurred_at": clock.now.isoformat(),
        "description": "Departed hub",
        "location": {"country": "DE"},
    }
    response = api.post(f"/v1/parcels/{parcel_id}/scans", json={"scans": [scan]})
    assert response.status_code == 200, response.text


def test_the_same_stall_never_opens_a_second_incident_after_a_resolution(
    ops: ApiClient, clock: FakeClock
) -> None:
    _quiet_until_stuck(ops, clock)
    assert run_job(ops, "detect-stuck")["opened"] == 1
    [incident] = _incidents(ops)
    resolve_as_rejected(ops, incident["id"])

    for _ in range(3):  # the parcel is as quiet as ever
        clock.advance(days=2)
        run_job(ops, "poll")
        assert run_job(ops, "detect-stuck")["opened"] == 0
    assert len(_incidents(ops)) == 1


def test_a_settled_order_is_out_of_detection_for_good(ops: ApiClient, clock: FakeClock) -> None:
    parcel_id = _quiet_until_stuck(ops, clock)
    run_job(ops, "detect-stuck")
    [incident] = _incidents(ops)
    settled = ops.post(
        f"/v1/incidents/{incident['id']}/transitions",
        json={"to": "resolved", "resolution": "cancelled", "reason": "order cancelled"},
    )
    assert settled.status_code == 200, settled.text

    clock.advance(hours=1)
    _moves(ops, parcel_id, clock)  # it moves again, then stalls for weeks
    clock.advance(days=30)
    run_job(ops, "poll")

    assert run_job(ops, "detect-stuck")["opened"] == 0
    assert len(_incidents(ops)) == 1


def _stuck_now(api: ApiClient) -> list[dict[str, Any]]:
    response = api.get("/v1/parcels", params={"stuck": "true"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_stuck_now_lists_the_verdict_whatever_incidents_exist(
    ops: ApiClient, clock: FakeClock
) -> None:
    parcel_id = _quiet_until_stuck(ops, clock)
    [before] = _stuck_now(ops)  # stuck, no incident yet
    run_job(ops, "detect-stuck")
    [with_incident] = _stuck_now(ops)  # still stuck, now with its incident

    assert before["id"] == with_incident["id"] == parcel_id
    assert with_incident["verdict"] == "no_movement"
    assert with_incident["threshold_rule"] == "default express in_transit"
    assert with_incident["stuck_since"] is not None
    moving = ops.get("/v1/parcels", params={"stuck": "false"}).json()["items"]
    assert moving == []
    assert ops.get("/v1/parcels").json()["items"][0].get("verdict") is None


def test_a_resolved_stall_leaves_the_stuck_list_and_reopening_brings_it_back(
    ops: ApiClient, clock: FakeClock
) -> None:
    _quiet_until_stuck(ops, clock)
    run_job(ops, "detect-stuck")
    [incident] = _incidents(ops)
    ops.post(
        f"/v1/incidents/{incident['id']}/transitions",
        json={"to": "resolved", "resolution": "cancelled", "reason": "order cancelled"},
    )
    assert _stuck_now(ops) == []
    ops.post(
        f"/v1/incidents/{incident['id']}/transitions",
        json={"to": "open", "reason": "the customer still wants it"},
    )
    assert [p["id"] for p in _stuck_now(ops)] == [incident["parcel_id"]]
