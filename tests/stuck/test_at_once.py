"""Scans that need someone at once, and when detection stays silent (re-arming).

One test per row of the tables in ``app/stuck/verdict.py`` and
``app/incidents/service.py::disarm_detection``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters.base import ScanStatus
from app.incidents.service import SETTLING_RESOLUTIONS, disarm_detection
from app.parcels.models import Parcel
from app.stuck.checks import facts_of, is_armed, next_check
from app.stuck.verdict import ParcelFacts, judge, needs_customs_action, rule_name

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
AN_HOUR_AGO = NOW - timedelta(hours=1)


def scanned(status: str, **kw: object) -> ParcelFacts:
    fields: dict[str, object] = {
        "carrier": "ups",
        "status": ScanStatus(status),
        "registered_at": NOW - timedelta(days=2),
        "last_scan_at": AN_HOUR_AGO,
        "last_scan_country": "DE",
    }
    fields.update(kw)
    return ParcelFacts(**fields)  # type: ignore[arg-type]


def test_a_return_to_sender_needs_an_incident_at_once_and_never_goes_lost() -> None:
    verdict = judge(scanned("returned_to_sender"), now=NOW)
    assert (verdict.stuck, verdict.kind) == (True, "returned")
    assert verdict.lost_threshold is None
    assert next_check(verdict) is None  # once opened, nothing more to detect
    assert rule_name(verdict) == "returned to sender opens at once"


def test_one_failed_attempt_waits_for_its_threshold() -> None:
    verdict = judge(scanned("failed_attempt", failed_attempts=1), now=NOW)
    assert verdict.stuck is False


def test_a_second_failed_attempt_needs_an_incident_at_once() -> None:
    verdict = judge(scanned("failed_attempt", failed_attempts=2), now=NOW)
    assert (verdict.stuck, verdict.kind) == (True, "delivery_failed")
    assert verdict.lost_threshold is not None  # it can still end up presumed lost


@pytest.mark.parametrize(
    "words",
    [
        "held by customs: import duties and taxes must be paid",
        "customs clearance delay: commercial invoice required",
        "awaiting information from the receiver for clearance",
    ],
)
def test_a_customs_hold_asking_for_payment_or_documents_needs_an_incident_at_once(
    words: str,
) -> None:
    verdict = judge(scanned("customs_hold", reason_text=words), now=NOW)
    assert (verdict.stuck, verdict.kind) == (True, "customs_action")


def test_a_routine_customs_hold_waits_for_its_threshold() -> None:
    assert needs_customs_action("clearance processing in progress") is False
    verdict = judge(scanned("customs_hold", reason_text="clearance processing"), now=NOW)
    assert verdict.stuck is False


def test_a_disarmed_parcel_is_never_stuck_however_long_the_silence() -> None:
    quiet_for_months = scanned("in_transit", last_scan_at=NOW - timedelta(days=90), armed=False)
    assert judge(quiet_for_months, now=NOW).stuck is False
    assert judge(scanned("returned_to_sender", armed=False), now=NOW).stuck is False


def parcel(**kw: object) -> Parcel:
    values: dict[str, object] = {
        "tenant_id": uuid.uuid4(),
        "carrier": "ups",
        "tracking_number": "1Z999AA10123456784",
        "order_id": "SO-1",
        "status": "in_transit",
        "last_scan_at": AN_HOUR_AGO,
        "last_scan_country": "DE",
        "created_at": NOW - timedelta(days=3),
    }
    values.update(kw)
    return Parcel(**values)  # type: ignore[arg-type]


class _Session:
    """``disarm_detection`` only adds the parcel to the session."""

    def add(self, _obj: object) -> None:
        pass


@pytest.mark.parametrize("resolution", sorted(SETTLING_RESOLUTIONS))
def test_a_resolution_that_settles_the_order_ends_detection_for_good(resolution: str) -> None:
    shipped = parcel()
    disarm_detection(_Session(), shipped, resolution=resolution, now=NOW)  # type: ignore[arg-type]
    shipped.last_scan_at = NOW + timedelta(days=5)  # it moved again, later
    assert is_armed(shipped) is False
    assert facts_of(shipped).armed is False


@pytest.mark.parametrize("resolution", ["delivered", "rejected"])
def test_any_other_resolution_rearms_on_the_first_scan_newer_than_itself(resolution: str) -> None:
    shipped = parcel()
    disarm_detection(_Session(), shipped, resolution=resolution, now=NOW)  # type: ignore[arg-type]
    assert is_armed(shipped) is False  # the stall it was resolved for opens nothing
    shipped.last_scan_at = NOW  # a scan of the same instant is not newer
    assert is_armed(shipped) is False
    shipped.last_scan_at = NOW + timedelta(minutes=1)
    assert is_armed(shipped) is True
