"""Overdue next steps: told once per deadline; unowned automatic incidents escalate."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.core.jobs import JobContext
from app.db.engine import Database
from tests.factories import ApiClient, FakeClock, open_incident, register_parcel
from tests.jobs import (
    events,
    run_job,
)


def job_context(app: Any) -> JobContext:
    assert isinstance(app, FastAPI)
    state = app.state
    return JobContext(
        db=state.db, carriers=state.carriers, settings=state.settings, clock=state.clock
    )


def _auto_incident(api: ApiClient, clock: FakeClock) -> dict[str, Any]:
    register_parcel(api, tracking_number="SANDBOX-STALLED-9", carrier=None, shipped_at=None)
    clock.advance(days=10)
    run_job(api, "poll")
    run_job(api, "detect-stuck")
    [incident] = api.get("/v1/incidents").json()["items"]
    return incident  # type: ignore[no-any-return]


def test_an_overdue_automatic_incident_is_flagged_once_and_escalated(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    incident = _auto_incident(ops, clock)
    clock.advance(days=3)  # past the one-business-day deadline

    first = run_job(ops, "overdue")
    second = run_job(ops, "overdue")

    assert (first["overdue"], first["escalated"]) == (1, 1)
    assert second["overdue"] == 0
    assert [e["incident_id"] for e in events(db, "incident.next_step_overdue")] == [incident["id"]]
    after = ops.get(f"/v1/incidents/{incident['id']}").json()
    assert after["status"] == "escalated"
    assert after["overdue"] is False  # the escalation set a new deadline
    assert after["next_step"]["action"].startswith("Assign an owner")
    assert after["assignee"] is None  # the job assigns nobody: the supervisor's queue shows it


def test_each_new_deadline_can_be_overdue_again(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    _auto_incident(ops, clock)
    clock.advance(days=3)
    run_job(ops, "overdue")
    clock.advance(days=4)
    again = run_job(ops, "overdue")
    assert again["overdue"] == 1
    assert again.get("escalated", 0) == 0  # already escalated
    assert len(events(db, "incident.next_step_overdue")) == 2


def test_an_agents_incident_is_flagged_but_not_escalated(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    parcel = register_parcel(ops)
    incident = open_incident(ops, parcel["id"]).json()
    clock.advance(days=2)
    assert ops.get(f"/v1/incidents/{incident['id']}").json()["overdue"] is True
    counts = run_job(ops, "overdue")
    assert counts["overdue"] == 1
    assert counts.get("escalated", 0) == 0
    after = ops.get(f"/v1/incidents/{incident['id']}").json()
    assert after["status"] == "open"
    assert after["version"] == incident["version"]  # flagging is not an edit: ETags hold
    timeline = ops.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
    assert any(i.get("kind") == "next_step_overdue" for i in timeline)
