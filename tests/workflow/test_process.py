"""The seller's complaint process: every step an action with its timeline entry, and refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.factories import ApiClient, FakeClock, new_api_key
from tests.workflow.helpers import (
    entry_kinds,
    event_types,
    events,
    new_incident,
    propose,
    ready_for_proposal,
    step,
    tell_customer,
    url,
)


def test_the_whole_process_step_by_step_with_a_supervisors_approval(
    api: ApiClient, supervisor: ApiClient, db: Database, clock: FakeClock
) -> None:
    incident = new_incident(api)
    seen = [incident["process_step"]]

    def then(response: dict[str, Any]) -> dict[str, Any]:
        seen.append(str(response["step"]))
        clock.advance(minutes=10)  # one action after the other, as people work
        return response

    then(step(api, incident, "assessment", {"substantiated": True, "reason": "Box crushed"}))
    then(step(api, incident, "department", {"department": "Logistics"}))
    then(step(api, incident, "root-cause", {"root_cause": "packaging"}))
    proposed = then(propose(api, incident, amount="59.90"))
    approved = then(step(supervisor, incident, "approval", {"note": "Customer of 6 years"}))
    message = tell_customer(api, incident, method="PayPal")
    clock.advance(minutes=10)
    then(
        step(
            api,
            incident,
            "execution",
            {
                "resolution": "refunded",
                "summary": "Refunded via PayPal",
                "message_id": message["id"],
            },
        )
    )
    then(step(api, incident, "lessons", {"lessons_learned": "Double-box glass"}))

    assert seen == [
        "assessment",
        "department",
        "root_cause",
        "proposal",
        "approval",
        "execution",
        "lessons",
        "done",
    ]
    [proposal] = proposed["proposals"]
    assert proposal["status"] == "pending"
    assert proposal["needs_approval"] is True
    # the value in its currency's minor units; the threshold has no currency: as stored
    assert (proposal["value"], proposal["threshold"]) == ("59.90", "50.000")
    assert approved["proposals"][0]["decided_by"]["name"] == "supervisor-sam"
    assert approved["proposals"][0]["proposed_by"]["type"] == "api_key"
    row = api.get(url(incident)).json()
    assert row["process_step"] == "done"
    assert (row["status"], row["resolution"]) == ("resolved", "refunded")
    assert (row["substantiated"], row["responsible_department"]) == (True, "Logistics")
    assert row["root_cause"] == "packaging"
    assert row["compensation"] == {
        "kind": "refund",
        "amount": "59.90",
        "currency": "EUR",
        "percent": None,
    }
    assert row["lessons_learned"] == "Double-box glass"
    assert row["first_response_at"] == "2026-03-12T10:20:00Z"  # the refund message
    assert entry_kinds(api, incident) == [
        "opened",
        "assessed",
        "department_assigned",
        "root_cause_identified",
        "solution_proposed",
        "compensation_approved",
        "message_sent",
        "solution_executed",
        "status_changed",
        "lessons_recorded",
    ]
    assert api.get(url(incident, "/timeline/verify")).json()["valid"] is True
    assert event_types(db, incident["id"]) == [
        "incident.opened",
        "compensation.proposed",
        "compensation.approved",
        "message.created",
        "incident.resolved",
    ]


def test_the_proposer_cannot_approve_its_own_compensation(api: ApiClient) -> None:
    incident = new_incident(api)
    ready_for_proposal(api, incident)
    propose(api, incident, amount="120")

    own = api.post(url(incident, "/process/approval"), json={})  # an admin key, still the proposer
    own_reject = api.post(url(incident, "/process/rejection"), json={"reason": "too much"})

    assert own.status_code == 403
    assert own.json()["type"].endswith("self-approval")
    assert own.json()["proposed_by"] == "agent-anna"
    assert own_reject.status_code == 403
    process = api.get(url(incident, "/process")).json()
    assert process["step"] == "approval"
    assert process["proposals"][0]["status"] == "pending"


def test_approving_needs_the_approve_scope(
    api: ApiClient, client: TestClient, db: Database
) -> None:
    incident = new_incident(api)
    ready_for_proposal(api, incident)
    propose(api, incident, amount="120")
    colleague = ApiClient(
        client, new_api_key(db, tenant="acme", name="colleague", scopes=("incidents:write",))
    )

    response = colleague.post(url(incident, "/process/approval"), json={})

    assert response.status_code == 403
    assert response.json()["required_scope"] == "incidents:approve"


def test_resolving_with_money_needs_the_approved_compensation(
    api: ApiClient, supervisor: ApiClient
) -> None:
    incident = new_incident(api)
    transitions = url(incident, "/transitions")
    refund = {"to": "resolved", "resolution": "refunded"}

    without_any = api.post(transitions, json=refund)
    ready_for_proposal(api, incident)
    propose(api, incident, amount="75")
    while_pending = api.post(transitions, json=refund)
    message = tell_customer(api, incident)
    execution = api.post(
        url(incident, "/process/execution"),
        json={"resolution": "refunded", "summary": "Refunded", "message_id": message["id"]},
    )
    step(supervisor, incident, "approval", {})
    current = api.get(url(incident))
    edited = api.patch(
        url(incident),
        json={"compensation": {"kind": "refund", "amount": "95", "currency": "EUR"}},
        headers={"If-Match": current.headers["etag"]},
    )
    after_edit = api.post(transitions, json=refund)

    assert without_any.status_code == 409
    assert without_any.json()["errors"][0]["field"] == "resolution"
    assert while_pending.status_code == 409
    assert execution.status_code == 409
    assert execution.json()["process_step"] == "approval"
    assert edited.status_code == 200
    assert edited.json()["process_step"] == "proposal"  # the approval was for 75, not 95
    assert after_edit.status_code == 409
    assert "not approved" in after_edit.json()["detail"]
    assert api.get(url(incident)).json()["status"] != "resolved"


def test_a_rejection_goes_back_to_the_proposer_with_the_reason(
    api: ApiClient, supervisor: ApiClient, db: Database, clock: FakeClock
) -> None:
    incident = new_incident(api)
    ready_for_proposal(api, incident)
    propose(api, incident, amount="59.90")

    clock.advance(minutes=5)
    rejected = step(
        supervisor, incident, "rejection", {"reason": "Offer a 30% partial refund first"}
    )
    row = api.get(url(incident)).json()
    clock.advance(minutes=5)
    smaller = propose(api, incident, amount="18", kind="partial_refund")

    assert rejected["step"] == "proposal"
    assert rejected["proposals"][0]["status"] == "rejected"
    assert rejected["proposals"][0]["decision_reason"] == "Offer a 30% partial refund first"
    assert row["next_step"]["action"] == (
        "agent-anna: revise the proposal (Offer a 30% partial refund first)"
    )
    assert [p["status"] for p in smaller["proposals"]] == ["rejected", "not_required"]
    assert smaller["step"] == "execution"
    kind, payload = events(db, incident["id"])[-1]
    assert kind == "compensation.proposed"
    assert payload["proposal"]["needs_approval"] is False
    assert "compensation.rejected" in event_types(db, incident["id"])
    assert "compensation_rejected" in entry_kinds(api, incident)


def test_threshold_zero_means_every_compensation_is_approved(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    strict = settings.model_copy(update={"approval_thresholds": {"acme": Decimal(0)}})
    with TestClient(create_app(strict, database=db, clock=clock)) as client:
        api = ApiClient(client, new_api_key(db, tenant="acme", name="agent-anna"))
        incident = new_incident(api)
        ready_for_proposal(api, incident)

        voucher = step(
            api,
            incident,
            "proposal",
            {"solution": "5% off", "compensation": {"kind": "discount", "percent": "5"}},
        )

    assert voucher["step"] == "approval"
    assert voucher["proposals"][0]["needs_approval"] is True
    assert voucher["proposals"][0]["value"] == "2.995"  # 5% of the 59.90 EUR declared value


def test_a_compensation_in_another_currency_is_always_approved(api: ApiClient) -> None:
    incident = new_incident(api)  # the order is in EUR
    ready_for_proposal(api, incident)

    usd = step(
        api,
        incident,
        "proposal",
        {
            "solution": "Refund 5 USD",
            "compensation": {"kind": "partial_refund", "amount": "5", "currency": "USD"},
        },
    )

    assert usd["step"] == "approval"


def test_rejecting_a_complaint_needs_it_unsubstantiated_and_a_reason(api: ApiClient) -> None:
    incident = new_incident(api)
    transitions = url(incident, "/transitions")

    unjudged = api.post(
        transitions, json={"to": "resolved", "resolution": "rejected", "reason": "x"}
    )
    step(api, incident, "assessment", {"substantiated": False, "reason": "Delivered, signed"})
    no_reason = api.post(transitions, json={"to": "resolved", "resolution": "rejected"})
    rejected = api.post(
        transitions,
        json={"to": "resolved", "resolution": "rejected", "reason": "Signed for on 10 March"},
    )

    assert unjudged.status_code == 422
    assert unjudged.json()["errors"][0]["field"] == "resolution"
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert rejected.status_code == 200
    assert rejected.json()["resolution"] == "rejected"
    assert rejected.json()["process_step"] == "lessons"


def test_steps_out_of_turn_are_refused_naming_the_current_step(
    api: ApiClient, supervisor: ApiClient
) -> None:
    incident = new_incident(api)

    early_department = api.post(url(incident, "/process/department"), json={"department": "QA"})
    step(api, incident, "assessment", {"substantiated": True, "reason": "Wrong colour sent"})
    early_proposal = api.post(url(incident, "/process/proposal"), json={"solution": "Reship"})
    nothing_pending = supervisor.post(url(incident, "/process/approval"), json={})
    step(api, incident, "assessment", {"substantiated": False, "reason": "Colour as ordered"})
    unsubstantiated = api.post(url(incident, "/process/proposal"), json={"solution": "Reship"})

    assert early_department.status_code == 409
    assert early_department.json()["process_step"] == "assessment"
    assert early_proposal.status_code == 409
    assert early_proposal.json()["process_step"] == "department"
    assert nothing_pending.status_code == 409
    assert unsubstantiated.status_code == 409
    assert unsubstantiated.json()["process_step"] == "execution"


def test_execution_needs_a_message_that_told_the_customer(api: ApiClient) -> None:
    incident = new_incident(api)
    ready_for_proposal(api, incident)
    step(api, incident, "proposal", {"solution": "Explain the customs delay, no compensation"})
    inbound = api.post(
        url(incident, "/messages"), json={"channel": "chat", "direction": "in", "text": "Where?"}
    ).json()

    response = api.post(
        url(incident, "/process/execution"),
        json={"resolution": "delivered", "summary": "Explained", "message_id": inbound["id"]},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "message_id"


def test_another_tenants_process_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    incident = new_incident(api)

    assert other_api.get(url(incident, "/process")).status_code == 404
    refused = other_api.post(
        url(incident, "/process/assessment"), json={"substantiated": True, "reason": "x"}
    )
    assert refused.status_code == 404
    assert api.get(url(incident)).json()["substantiated"] is None
