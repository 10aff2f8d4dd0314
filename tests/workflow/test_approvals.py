"""What a compensation is worth, when it needs a supervisor, and which step an incident is at."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from app.incidents.models import CompensationProposal, Incident
from app.incidents.process import covers, process_step
from app.incidents.schemas import Compensation
from app.parcels.models import Parcel
from app.workflow.approvals import assess


def parcel(value: str | None = "59.90", currency: str | None = "EUR") -> Parcel:
    return Parcel(
        tenant_id=uuid.uuid4(),
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        order_id="SO-1",
        declared_value=Decimal(value) if value else None,
        currency=currency,
    )


@pytest.mark.parametrize(
    ("compensation", "threshold", "currency", "needs", "value"),
    [
        ({"kind": "refund", "amount": "59.90", "currency": "EUR"}, "50", None, True, "59.90"),
        ({"kind": "refund", "amount": "50", "currency": "EUR"}, "50", None, False, "50"),
        ({"kind": "partial_refund", "amount": "10", "currency": "USD"}, "50", None, True, "10"),
        ({"kind": "partial_refund", "amount": "10", "currency": "USD"}, "50", "USD", False, "10"),
        ({"kind": "discount", "percent": "10"}, "50", None, False, "5.990"),
        ({"kind": "reshipment"}, "50", None, True, "59.90"),
        ({"kind": "reshipment"}, "100", None, False, "59.90"),
        ({"kind": "coupon"}, "50", None, True, None),  # worth what? a person decides
        ({"kind": "coupon", "amount": "1", "currency": "EUR"}, "0", None, True, "1"),
    ],
)
def test_a_compensation_needs_approval_above_the_threshold_or_when_unknown(
    compensation: dict[str, str],
    threshold: str,
    currency: str | None,
    needs: bool,
    value: str | None,
) -> None:
    verdict = assess(
        Compensation.model_validate(compensation),
        parcel(),
        threshold=Decimal(threshold),
        currency=currency,
    )

    assert verdict.needs_approval is needs, verdict.reason
    assert verdict.value == (Decimal(value) if value else None)


def test_without_a_declared_value_a_percentage_cannot_be_valued() -> None:
    verdict = assess(
        Compensation(kind="discount", percent=Decimal(15)),
        parcel(value=None, currency=None),
        threshold=Decimal(50),
        currency=None,
    )

    assert verdict.needs_approval is True
    assert verdict.reason == "its value cannot be determined"


def incident(**fields: Any) -> Incident:
    base: dict[str, Any] = {
        "tenant_id": uuid.uuid4(),
        "number": 1,
        "parcel_id": uuid.uuid4(),
        "type": "damaged",
        "source": "customer",
    }
    return Incident(**(base | fields))


def proposal(status: str, **fields: Any) -> CompensationProposal:
    base: dict[str, Any] = {
        "tenant_id": uuid.uuid4(),
        "incident_id": uuid.uuid4(),
        "seq": 1,
        "solution": "Refund",
        "kind": "refund",
        "amount": Decimal("59.900"),
        "currency": "EUR",
        "needs_approval": True,
        "status": status,
        "proposed_by": "anna",
        "proposed_by_key_id": uuid.uuid4(),
    }
    return CompensationProposal(**(base | fields))


READY = {
    "substantiated": True,
    "responsible_department": "Logistics",
    "root_cause": "packaging",
    "proposed_solution": "Refund",
    "compensation_kind": "refund",
    "compensation_amount": Decimal("59.90"),
    "compensation_currency": "EUR",
}


@pytest.mark.parametrize(
    ("fields", "latest", "step"),
    [
        ({}, None, "assessment"),
        ({"substantiated": False}, None, "execution"),
        ({"substantiated": True}, None, "department"),
        ({"substantiated": True, "responsible_department": "QA"}, None, "root_cause"),
        (READY | {"proposed_solution": None}, None, "proposal"),
        (READY, proposal("pending"), "approval"),
        (READY, proposal("rejected"), "proposal"),
        (READY, proposal("approved"), "execution"),
        (READY | {"compensation_amount": Decimal(80)}, proposal("approved"), "proposal"),
        (READY, None, "proposal"),  # compensation set by hand, never proposed
        (READY | {"compensation_kind": None}, None, "execution"),
        ({"status": "resolved"}, None, "lessons"),
        ({"status": "resolved", "lessons_learned": "Double-box"}, None, "done"),
    ],
)
def test_the_step_follows_from_the_incident_and_its_latest_proposal(
    fields: dict[str, object], latest: CompensationProposal | None, step: str
) -> None:
    assert process_step(incident(**fields), latest) == step


def test_an_approval_covers_only_the_compensation_it_approved() -> None:
    approved = proposal("approved")

    assert covers(approved, incident(**READY)) is True
    assert covers(approved, incident(**(READY | {"compensation_currency": "USD"}))) is False
    assert covers(proposal("pending"), incident(**READY)) is False
    assert covers(None, incident(**READY)) is False
