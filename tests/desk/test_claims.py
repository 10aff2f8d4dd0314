"""Carrier claims on the incident page: an agent drafts a claim for a damaged parcel, cites its
photo, and records the carrier's answers; each step writes the entries and events the API
writes, and the page offers only the moves the claim's transition table allows."""

from __future__ import annotations

import re
from typing import Any

from app.db.engine import Database
from tests.desk.conftest import DeskClient, add_person
from tests.factories import UPS_NUMBERS, ApiClient, FakeClock
from tests.workflow.helpers import event_types, jpeg, new_incident, url

CLAIM = {"claim_type": "damaged", "amount": "59.90", "currency": "EUR"}
# the carrier's answers, in the order they come: the same through the API and the desk
ANSWERS: list[dict[str, str]] = [
    {"to": "filed", "carrier_reference": "UPS-CLM-7781"},
    {"to": "partially_approved", "amount": "40.00", "reason": "Depreciation of the lamp"},
    {"to": "paid"},
]


def _second_incident(api: ApiClient) -> dict[str, Any]:
    """Another parcel of the same shop, shipped the same day (so the same filing deadline)."""
    return new_incident(api, tracking_number=UPS_NUMBERS[1], order_id="SO-10024")


def _claims_page(desk: DeskClient, incident: dict[str, Any]) -> str:
    page = desk.get(f"/desk/incidents/{incident['id']}")
    assert page.status_code == 200, page.text
    found = re.search(
        r'<section class="card" aria-labelledby="claims-h".*?</section>', page.text, re.S
    )
    assert found, "the incident page has no claims section"
    return found.group(0)


def _offered_moves(section: str) -> list[str]:
    return re.findall(r'class="claim-move" data-move="(\w+)"', section)


def _claim_entries(api: ApiClient, incident: dict[str, Any]) -> list[dict[str, Any]]:
    items = api.get(url(incident, "/timeline")).json()["items"]
    return [i for i in items if i["item"] == "entry" and i["kind"].startswith("claim_")]


def _photo(api: ApiClient, incident: dict[str, Any]) -> str:
    uploaded = api.post(url(incident, "/evidence"), files={"file": ("box.jpg", jpeg())})
    assert uploaded.status_code == 201, uploaded.text
    return str(uploaded.json()["id"])


def _only_claim(api: ApiClient, incident: dict[str, Any]) -> dict[str, Any]:
    items: list[dict[str, Any]] = api.get(url(incident, "/claims")).json()["items"]
    assert len(items) == 1
    return items[0]


def test_a_claim_worked_on_the_desk_writes_what_the_api_writes(
    desk: DeskClient, api: ApiClient, db: Database
):
    by_api, on_desk = new_incident(api), _second_incident(api)
    api_photo, desk_photo = _photo(api, by_api), _photo(api, on_desk)

    created = api.post(url(by_api, "/claims"), json={**CLAIM, "evidence_ids": [api_photo]})
    assert created.status_code == 201, created.text
    for answer in ANSWERS:
        moved = api.post(url(by_api, f"/claims/{created.json()['id']}/transitions"), json=answer)
        assert moved.status_code == 200, moved.text

    drafted = desk.post(
        f"/desk/incidents/{on_desk['id']}/claims", {**CLAIM, "evidence_ids": desk_photo}
    )
    assert drafted.status_code == 303, drafted.text
    assert drafted.headers["location"].endswith("#claims")
    claim_id = _only_claim(api, on_desk)["id"]
    for answer in ANSWERS:
        moved = desk.post(f"/desk/incidents/{on_desk['id']}/claims/{claim_id}/transitions", answer)
        assert moved.status_code == 303, (answer, moved.text)

    api_entries, desk_entries = _claim_entries(api, by_api), _claim_entries(api, on_desk)
    assert [(e["kind"], e["summary"]) for e in desk_entries] == [
        (e["kind"], e["summary"]) for e in api_entries
    ]
    assert [e["kind"] for e in desk_entries] == [
        "claim_created",
        "claim_filed",
        "claim_partially_approved",
        "claim_paid",
    ]
    assert {(e["actor"]["type"], e["actor"]["name"]) for e in api_entries} == {
        ("api_key", "agent-anna")
    }
    assert {(e["actor"]["type"], e["actor"]["name"]) for e in desk_entries} == {
        ("user", "Anna Agent")
    }
    claim_events = [t for t in event_types(db, on_desk["id"]) if t.startswith("claim.")]
    # the same events (their order is the timeline's, checked above: events written at one
    # instant of the test clock have no order of their own)
    assert sorted(claim_events) == sorted(
        t for t in event_types(db, by_api["id"]) if t.startswith("claim.")
    )

    differs = {"id", "incident_id", "evidence_ids", "created_by"}
    desk_claim, api_claim = _only_claim(api, on_desk), _only_claim(api, by_api)
    assert {k: v for k, v in desk_claim.items() if k not in differs} == {
        k: v for k, v in api_claim.items() if k not in differs
    }
    assert desk_claim["evidence_ids"] == [desk_photo]
    assert (desk_claim["status"], desk_claim["paid_amount"]) == ("paid", "40.00")
    assert desk_claim["created_by"]["name"] == "Anna Agent"


def test_the_page_offers_only_the_moves_the_claim_may_make(desk: DeskClient, api: ApiClient):
    incident = new_incident(api)
    assert "No claims with the carrier yet" in _claims_page(desk, incident)
    desk.post(f"/desk/incidents/{incident['id']}/claims", CLAIM)
    claim_id = _only_claim(api, incident)["id"]
    moves = f"/desk/incidents/{incident['id']}/claims/{claim_id}/transitions"

    offered = [_offered_moves(_claims_page(desk, incident))]
    desk.post(moves, {"to": "filed", "carrier_reference": "UPS-CLM-1"})
    offered.append(_offered_moves(_claims_page(desk, incident)))
    desk.post(moves, {"to": "approved"})
    offered.append(_offered_moves(_claims_page(desk, incident)))
    desk.post(moves, {"to": "paid", "amount": "59,90"})
    final = _claims_page(desk, incident)
    offered.append(_offered_moves(final))

    assert offered == [
        ["filed"],
        ["approved", "partially_approved", "rejected"],
        ["paid"],
        [],
    ]
    assert "Paid</dt><dd>59.90 EUR" in final
    assert "reference UPS-CLM-1" in final


def test_a_move_the_table_does_not_allow_is_refused_and_writes_nothing(
    desk: DeskClient, api: ApiClient
):
    incident = new_incident(api)
    desk.post(f"/desk/incidents/{incident['id']}/claims", CLAIM)
    claim_id = _only_claim(api, incident)["id"]
    moves = f"/desk/incidents/{incident['id']}/claims/{claim_id}/transitions"

    skipped = desk.post(moves, {"to": "paid"})
    no_reference = desk.post(moves, {"to": "filed"})
    not_a_move = desk.post(moves, {"to": "draft"})

    assert skipped.status_code == 409
    assert "a claim that is draft cannot become paid" in skipped.text
    assert no_reference.status_code == 422
    assert "carrier_reference" in no_reference.text
    assert "the carrier&#39;s claim reference is required" in no_reference.text
    assert not_a_move.status_code == 422
    assert "<html" in not_a_move.text  # a page with the reason, not problem+json
    assert _only_claim(api, incident)["status"] == "draft"
    assert [e["kind"] for e in _claim_entries(api, incident)] == ["claim_created"]


def test_bad_claim_forms_are_refused_with_the_field_named(desk: DeskClient, api: ApiClient):
    incident, other = new_incident(api), _second_incident(api)
    theirs = _photo(api, other)
    base = f"/desk/incidents/{incident['id']}/claims"

    no_amount = desk.post(base, {**CLAIM, "amount": ""})
    zero = desk.post(base, {**CLAIM, "amount": "0"})
    foreign_photo = desk.post(base, {**CLAIM, "evidence_ids": theirs})
    unknown_carrier = desk.post(base, {**CLAIM, "carrier": "pigeon"})
    no_token = desk.client.post(base, data=CLAIM)

    assert (no_amount.status_code, zero.status_code) == (422, 422)
    assert "amount" in no_amount.text
    assert "amount" in zero.text
    assert foreign_photo.status_code == 422
    assert f"{theirs} is not evidence of this incident" in foreign_photo.text
    assert unknown_carrier.status_code == 422
    assert "unknown carrier" in unknown_carrier.text
    assert no_token.status_code == 403
    assert api.get(url(incident, "/claims")).json()["items"] == []


def test_the_filing_deadline_is_flagged_soon_then_overdue(
    desk: DeskClient, api: ApiClient, clock: FakeClock
):
    incident = new_incident(api)  # UPS, shipped 2026-03-02T00:15Z: 60 days to file
    desk.post(f"/desk/incidents/{incident['id']}/claims", CLAIM)
    fresh = _claims_page(desk, incident)

    clock.advance(days=44)  # 5 days left
    assert desk.sign_in("anna@acme.example").status_code == 303  # the session went idle
    near = _claims_page(desk, incident)
    clock.advance(days=6)
    assert desk.sign_in("anna@acme.example").status_code == 303
    late = _claims_page(desk, incident)

    assert "2026-05-01 00:15" in fresh  # the desk's time zone in tests: UTC
    assert "filing overdue" not in fresh
    assert "file soon" not in fresh
    assert '<span class="badge soon">file soon</span> in 5 d 14 h' in near
    assert '<span class="badge late">filing overdue</span> 9 h 15 min ago' in late


def test_a_filed_claim_is_not_flagged_however_late(
    desk: DeskClient, api: ApiClient, clock: FakeClock
):
    incident = new_incident(api)
    desk.post(f"/desk/incidents/{incident['id']}/claims", CLAIM)
    claim_id = _only_claim(api, incident)["id"]
    desk.post(
        f"/desk/incidents/{incident['id']}/claims/{claim_id}/transitions",
        {"to": "filed", "carrier_reference": "UPS-CLM-2", "occurred_at": "2026-03-11T15:00"},
    )
    clock.advance(days=90)
    assert desk.sign_in("anna@acme.example").status_code == 303
    section = _claims_page(desk, incident)
    assert "filing overdue" not in section
    assert "file soon" not in section
    assert "Filed</dt><dd>2026-03-11 15:00, reference UPS-CLM-2" in section


def test_another_tenants_claims_are_not_found(
    desk: DeskClient, api: ApiClient, other_api: ApiClient, db: Database
):
    theirs = new_incident(other_api)
    claim = other_api.post(url(theirs, "/claims"), json=CLAIM).json()
    base = f"/desk/incidents/{theirs['id']}/claims"

    assert desk.post(base, CLAIM).status_code == 404
    moved = desk.post(f"{base}/{claim['id']}/transitions", ANSWERS[0])
    assert moved.status_code == 404
    mine = new_incident(api)
    crossed = desk.post(
        f"/desk/incidents/{mine['id']}/claims/{claim['id']}/transitions", ANSWERS[0]
    )
    assert crossed.status_code == 404
    assert other_api.get(url(theirs, f"/claims/{claim['id']}")).json()["status"] == "draft"
    assert len(other_api.get(url(theirs, "/claims")).json()["items"]) == 1


def test_a_supervisor_works_claims_too(app: Any, client: Any, api: ApiClient, db: Database):
    add_person(db, email="sven@acme.example", name="Sven Supervisor", role="supervisor")
    sven = DeskClient(app)
    assert sven.sign_in("sven@acme.example").status_code == 303
    incident = new_incident(api)
    assert sven.post(f"/desk/incidents/{incident['id']}/claims", CLAIM).status_code == 303
    assert _claim_entries(api, incident)[0]["actor"]["name"] == "Sven Supervisor"
