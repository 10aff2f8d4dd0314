"""The next step an automatic incident opens with: it quotes the carrier's words, and always
fits its 500 characters, whatever the carrier wrote."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.auto_incidents.service import next_step_for
from app.incidents.schemas import ACTION_MAX_CHARS
from app.parcels.models import Parcel
from app.stuck.verdict import Verdict, VerdictKind

NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)


def _parcel(description: str) -> Parcel:
    return Parcel(
        tenant_id=uuid.uuid4(),
        carrier="other",
        carrier_name="N" * 100,  # the longest name a seller may give
        tracking_number="T" * 64,  # the longest number
        order_id="SO-1",
        status="exception",
        last_scan_description=description,
    )


def _verdict(kind: VerdictKind) -> Verdict:
    return Verdict(
        stuck=True,
        kind=kind,
        since=NOW,
        country="DE",
        elapsed_business_days=0.0,
        threshold=None,
        lost_threshold=None,
        stuck_at=NOW,
    )


@pytest.mark.parametrize("kind", ["exception", "customs_action"])
def test_a_short_description_is_quoted_whole(kind: VerdictKind) -> None:
    step = next_step_for(_verdict(kind), _parcel("Held: duties unpaid"), NOW)

    assert "(Held: duties unpaid)" in step.action


@pytest.mark.parametrize("kind", ["exception", "customs_action"])
def test_a_description_of_500_characters_is_shortened_to_fit_the_step(kind: VerdictKind) -> None:
    """The carrier's description may fill its own 500 characters; the step around it would
    then pass the step's limit and fail the detect-stuck batch on every tick."""
    description = "Awaiting documents " + "x" * 481

    step = next_step_for(_verdict(kind), _parcel(description), NOW)

    assert len(step.action) == ACTION_MAX_CHARS
    assert "(Awaiting documents xxx" in step.action
    assert "…)" in step.action
    assert step.action.endswith(("yourself.", "happens next."))
