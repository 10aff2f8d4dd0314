"""Carrier claims: the filing deadline from the ship date, the status path, entries and events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.db.engine import Database
from app.parcels.models import Parcel
from tests.factories import ApiClient, FakeClock
from tests.workflow.helpers import entry_kinds, event_types, jpeg, new_incident, url


def test_a_claim_shows_its_deadline_and_is_flagged_when_it_is_near(
    api: ApiClient, clock: FakeClock
) -> None:
    incident = new_incident(api)  # UPS, shipped 2026-03-02T00:15Z
    photo = api.post(url(incident, "/evidence"), files={"file": ("box.jpg", jpeg())}).json()

    created = api.post(
        url(incident, "/claims"),
        json={
            "claim_type": "damaged",
            "amount": "59.90",
            "currency": "eur",
            "evidence_ids": [photo["id"]],
            "description": "Crushed in transit",
        },
    )
    claim = created.json()
    clock.advance(days=44)  # 5 days before the deadline
    near = api.get(url(incident, f"/claims/{claim['id']}")).json()
    clock.advance(days=6)
    late = api.get(url(incident, "/claims")).json()["items"][0]

    assert created.status_code == 201, created.text
    assert created.headers["location"] == url(incident, f"/claims/{claim['id']}")
    assert (claim["carrier"], claim["status"], claim["currency"]) == ("ups", "draft", "EUR")
    assert claim["evidence_ids"] == [photo["id"]]
    assert claim["shipped_at"] == "2026-03-02T00:15:00Z"
    assert claim["claim_window_days"] == 60
    assert claim["filing_deadline"] == "2026-05-01T00:15:00Z"
    assert (claim["days_left"], claim["deadline_near"]) == (49, False)
    assert (near["days_left"], near["deadline_near"], near["deadline_passed"]) == (5, True, False)
    assert (late["deadline_near"], late["deadline_passed"]) == (False, True)


def test_the_window_depends_on_the_carrier_and_the_claim_type(api: ApiClient) -> None:
    incident = new_incident(
        api, tracking_number="SANDBOX-LOST-1", carrier="sandbox", shipped_at=None
    )

    fedex = api.post(
        url(incident, "/claims"),
        json={"claim_type": "damaged", "amount": "10", "currency": "USD", "carrier": "fedex"},
    ).json()
    unknown = api.post(
        url(incident, "/claims"),
        json={"claim_type": "lost", "amount": "10", "currency": "USD", "carrier": "pigeon"},
    )

    assert fedex["claim_window_days"] == 21
    assert fedex["shipped_at"] == "2026-03-12T09:30:00Z"  # no ship date: when it was registered
    assert fedex["filing_deadline"] == "2026-04-02T09:30:00Z"
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "carrier"


def test_a_claim_moves_from_draft_to_paid_with_an_entry_and_event_each_time(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    incident = new_incident(api)
    claim = api.post(
        url(incident, "/claims"), json={"claim_type": "lost", "amount": "59.90", "currency": "EUR"}
    ).json()
    moves = url(incident, f"/claims/{claim['id']}/transitions")

    unfiled_paid = api.post(moves, json={"to": "paid"})
    no_reference = api.post(moves, json={"to": "filed"})
    clock.advance(days=1)
    filed = api.post(moves, json={"to": "filed", "carrier_reference": "UPS-CLM-7781"})
    too_much = api.post(moves, json={"to": "partially_approved", "amount": "80"})
    clock.advance(days=9)
    partial = api.post(moves, json={"to": "partially_approved", "amount": "40", "reason": "Cap"})
    clock.advance(days=5)
    paid = api.post(moves, json={"to": "paid"})
    again = api.post(moves, json={"to": "filed", "carrier_reference": "X"})

    assert unfiled_paid.status_code == 409
    assert unfiled_paid.json()["allowed"] == ["filed"]
    assert no_reference.status_code == 422
    assert no_reference.json()["errors"][0]["field"] == "carrier_reference"
    assert filed.json()["status"] == "filed"
    assert filed.json()["carrier_reference"] == "UPS-CLM-7781"
    assert filed.json()["deadline_near"] is False
    assert too_much.status_code == 422
    assert partial.json()["approved_amount"] == "40.00"
    assert partial.json()["decision_reason"] == "Cap"
    assert paid.json()["status"] == "paid"
    assert paid.json()["paid_amount"] == "40.00"
    assert paid.json()["paid_at"] == "2026-03-27T09:30:00Z"
    assert again.status_code == 409
    assert [k for k in entry_kinds(api, incident) if k.startswith("claim_")] == [
        "claim_created",
        "claim_filed",
        "claim_partially_approved",
        "claim_paid",
    ]
    assert [t for t in event_types(db, incident["id"]) if t.startswith("claim.")] == [
        "claim.created",
        "claim.filed",
        "claim.partially_approved",
        "claim.paid",
    ]
    summaries = [
        e["summary"]
        for e in api.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
        if e.get("kind", "").startswith("claim_")
    ]
    # amounts in the currency's minor units, as the API writes them (stored: 40.000)
    assert summaries[2:] == [
        "Carrier claim partially approved: 40.00 EUR",
        "Carrier claim paid: 40.00 EUR",
    ]


def test_a_rejected_claim_needs_the_reason(api: ApiClient) -> None:
    incident = new_incident(api)
    claim = api.post(
        url(incident, "/claims"), json={"claim_type": "delay", "amount": "12", "currency": "EUR"}
    ).json()
    moves = url(incident, f"/claims/{claim['id']}/transitions")
    api.post(moves, json={"to": "filed", "carrier_reference": "R-1"})

    without = api.post(moves, json={"to": "rejected"})
    rejected = api.post(moves, json={"to": "rejected", "reason": "No delay guarantee"})

    assert without.status_code == 422
    assert without.json()["errors"][0]["field"] == "reason"
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "No delay guarantee"


def test_claim_evidence_must_belong_to_the_incident(api: ApiClient, other_api: ApiClient) -> None:
    incident, elsewhere = (
        new_incident(api),
        new_incident(api, tracking_number="1Z12345E6712345677", order_id="SO-2"),
    )
    foreign = api.post(url(elsewhere, "/evidence"), files={"file": ("x.jpg", jpeg())}).json()

    response = api.post(
        url(incident, "/claims"),
        json={
            "claim_type": "damaged",
            "amount": "5",
            "currency": "EUR",
            "evidence_ids": [foreign["id"]],
        },
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "evidence_ids.0"
    assert other_api.get(url(incident, "/claims")).status_code == 404
    assert (
        other_api.post(
            url(incident, "/claims"),
            json={"claim_type": "lost", "amount": "5", "currency": "EUR"},
        ).status_code
        == 404
    )


def test_a_parcel_stored_as_shipped_in_9999_gets_a_422_for_its_claim_not_a_500(
    api: ApiClient, db: Database
) -> None:
    """The API refuses such a ship date now; a parcel stored before that rule still must not
    overflow the filing deadline (ship date + window)."""
    incident = new_incident(api)
    with db.session() as session:
        parcel = session.get(Parcel, uuid.UUID(incident["parcel_id"]))
        assert parcel is not None
        parcel.shipped_at = datetime(9999, 12, 31, tzinfo=UTC)
        session.commit()

    response = api.post(
        url(incident, "/claims"),
        json={"claim_type": "lost", "amount": "59.90", "currency": "EUR"},
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "field": "parcel.shipped_at",
            "message": "the parcel's ship date 9999-12-31 is outside the years 1970 to 2100, "
            "so no filing deadline can be counted from it",
        }
    ]
    assert api.get(url(incident, "/claims")).json()["items"] == []
