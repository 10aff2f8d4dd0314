"""Polling: due parcels fetched and stored, the next poll adaptive, failures recorded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from adapters.base import TrackingResult
from app.core.settings import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.parcels.models import Parcel
from app.tracking import apply as tracking_apply
from app.tracking.store import RETRY_FAILED
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.jobs import (
    run_job,
)


def _parcel(api: ApiClient, parcel_id: str) -> dict[str, object]:
    response = api.get(f"/v1/parcels/{parcel_id}")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def _at(value: object) -> datetime:
    assert isinstance(value, str)
    return datetime.fromisoformat(value)


def test_a_due_parcel_is_polled_and_its_scans_stored_once(ops: ApiClient, clock: FakeClock) -> None:
    parcel = register_parcel(
        ops, tracking_number="SANDBOX-STALLED-1", carrier=None, shipped_at=None
    )
    clock.advance(days=3)
    first = run_job(ops, "poll")
    assert first["parcels_found"] == 1
    assert first["scans_new"] == 4

    clock.advance(hours=4)
    again = run_job(ops, "poll")
    assert again["parcels_found"] == 1
    assert again.get("scans_new", 0) == 0
    scans = ops.get(f"/v1/parcels/{parcel['id']}/scans").json()
    assert len(scans) == 4
    stored = _parcel(ops, parcel["id"])
    assert stored["status"] == "in_transit"
    assert _at(stored["last_polled_at"]) == clock.now


def test_nothing_is_polled_before_it_is_due(ops: ApiClient, clock: FakeClock) -> None:
    register_parcel(ops, tracking_number="SANDBOX-INTRANSIT-1", carrier=None, shipped_at=None)
    clock.advance(days=2)
    assert run_job(ops, "poll")["claimed"] == 1
    clock.advance(minutes=30)  # in transit, express: next poll in about three hours
    assert run_job(ops, "poll").get("claimed", 0) == 0


def test_next_poll_comes_sooner_for_a_parcel_out_for_delivery(
    ops: ApiClient, clock: FakeClock
) -> None:
    transit = register_parcel(
        ops, tracking_number="SANDBOX-STALLED-2", carrier=None, shipped_at=None
    )
    delivering = register_parcel(
        ops, tracking_number="SANDBOX-DELIVERED-2", carrier=None, shipped_at=None
    )
    clock.advance(hours=141)  # the delivered journey is out for delivery now
    run_job(ops, "poll")
    wait_transit = _at(_parcel(ops, transit["id"])["next_poll_at"]) - clock.now
    out = _parcel(ops, delivering["id"])
    assert out["status"] == "out_for_delivery"
    wait_out = _at(out["next_poll_at"]) - clock.now
    assert wait_out < timedelta(hours=1.2)
    assert wait_transit > timedelta(hours=2.5)


def test_polling_stops_after_one_confirming_poll_of_a_delivered_parcel(
    ops: ApiClient, clock: FakeClock
) -> None:
    parcel = register_parcel(
        ops, tracking_number="SANDBOX-DELIVERED-3", carrier=None, shipped_at=None
    )
    clock.advance(days=8)
    run_job(ops, "poll")
    delivered = _parcel(ops, parcel["id"])
    assert delivered["status"] == "delivered"
    assert delivered["next_poll_at"] is not None
    clock.advance(hours=7)
    assert run_job(ops, "poll")["claimed"] == 1
    assert _parcel(ops, parcel["id"])["next_poll_at"] is None
    clock.advance(days=2)
    assert run_job(ops, "poll").get("claimed", 0) == 0


def test_polling_stops_at_the_maximum_tracking_age(ops: ApiClient, clock: FakeClock) -> None:
    parcel = register_parcel(
        ops, tracking_number="SANDBOX-STALLED-4", carrier=None, shipped_at=None
    )
    clock.advance(days=91)
    run_job(ops, "poll")
    assert _parcel(ops, parcel["id"])["next_poll_at"] is None


def test_an_unknown_number_is_recorded_as_not_found_and_polled_again(
    ops: ApiClient, clock: FakeClock
) -> None:
    parcel = register_parcel(
        ops, tracking_number="SANDBOX-NOTFOUND-1", carrier=None, shipped_at=None
    )
    clock.advance(hours=1)
    counts = run_job(ops, "poll")
    assert counts["parcels_not_found"] == 1
    stored = _parcel(ops, parcel["id"])
    assert "not found" in str(stored["last_poll_error"])
    assert stored["next_poll_at"] is not None


def test_a_failed_poll_keeps_the_scans_and_is_retried(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    parcel = register_parcel(ops, tracking_number="SANDBOX-OUTAGE-5", carrier=None, shipped_at=None)
    clock.advance(hours=1)
    assert run_job(ops, "poll")["parcels_failed"] == 1
    stored = _parcel(ops, parcel["id"])
    assert stored["last_polled_at"] is None
    retry = _at(stored["next_poll_at"]) - clock.now
    assert timedelta(minutes=14) < retry < timedelta(minutes=20)


def test_a_lease_keeps_other_pollers_off_a_claimed_parcel(
    ops: ApiClient, clock: FakeClock, app: object
) -> None:
    from app.tracking.job import lease_due
    from tests.incidents.test_job import job_context

    register_parcel(ops, tracking_number="SANDBOX-STALLED-6", carrier=None, shipped_at=None)
    context = job_context(app)
    assert len(lease_due(context, carrier="sandbox")) == 1
    assert lease_due(context, carrier="sandbox") == []  # leased by the first call
    clock.advance(minutes=6)  # the lease (5 minutes) expired: a crashed poller loses nothing
    assert len(lease_due(context, carrier="sandbox")) == 1


def test_a_claim_is_a_whole_number_of_carrier_calls(db: Database, settings: Settings) -> None:
    """500 FedEx numbers (30 a call) would end in a call of 20: the claim takes 510."""
    from app.core.carrier_hub import CarrierHub
    from app.core.jobs import JobContext
    from app.tracking.job import claim_size

    context = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=utcnow)
    assert settings.poll_claim_size == 500
    assert claim_size(context, 30) == 510
    assert claim_size(context, 1) == 500
    assert claim_size(context, 50) == 500
    assert claim_size(context, 0) == 500


def test_a_parcel_whose_answer_cannot_be_stored_is_set_aside_and_the_page_stored(
    ops: ApiClient, clock: FakeClock, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that one parcel's answer sets off must not fail its whole page, poll after poll
    (the page's parcels would wait for their leases to run out, then fail again together):
    the page is stored again parcel by parcel, and the parcel that fails alone waits an hour."""
    good = register_parcel(ops, tracking_number="SANDBOX-STALLED-7", carrier=None, shipped_at=None)
    bad = register_parcel(ops, tracking_number="SANDBOX-STALLED-8", carrier=None, shipped_at=None)
    clock.advance(days=3)
    real_apply = tracking_apply.apply_results

    def apply_failing_for_one(
        session: Session, batch: Sequence[tuple[Parcel, TrackingResult]], **rules: Any
    ) -> list[list[uuid.UUID]]:
        if any(str(parcel.id) == bad["id"] for parcel, _ in batch):
            raise RuntimeError("a bug this parcel's answer sets off")
        return real_apply(session, batch, **rules)

    monkeypatch.setattr(tracking_apply, "apply_results", apply_failing_for_one)
    counts = run_job(ops, "poll")

    assert counts["pages_split"] == 1
    assert counts["store_errors"] == 1
    assert len(ops.get(f"/v1/parcels/{good['id']}/scans").json()) == 4
    assert ops.get(f"/v1/parcels/{bad['id']}/scans").json() == []
    set_aside = _parcel(ops, bad["id"])
    assert _at(set_aside["next_poll_at"]) == clock.now + RETRY_FAILED
    with db.session() as session:
        stored = session.get(Parcel, uuid.UUID(bad["id"]))
        assert stored is not None
        assert stored.poll_lease_until is None

    monkeypatch.undo()  # the bug is fixed: an hour later its scans are stored
    clock.advance(hours=1)
    assert run_job(ops, "poll")["scans_new"] == 4
    assert len(ops.get(f"/v1/parcels/{bad['id']}/scans").json()) == 4
