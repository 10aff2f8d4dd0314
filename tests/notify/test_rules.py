"""Notice rules: off by default; on, an automatic incident tells its customer once, by day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.db.engine import Database
from tests.auto_incidents.test_job import _quiet_until_stuck, resolve_as_rejected
from tests.auto_incidents.test_rearm import _moves
from tests.factories import ApiClient, FakeClock, new_api_key, register_parcel
from tests.jobs import events, run_job
from tests.notify.customers import stored_messages

RULES = "/v1/settings/notice-rules"


def _turn_on(api: ApiClient, *rules: dict[str, Any]) -> dict[str, Any]:
    response = api.put(RULES, json={"rules": list(rules)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


DELAY_ON = {
    "incident_type": "delay",
    "enabled": True,
    "template_key": "delay_notice",
    "params": {"reason": "carrier_backlog"},
}


def _incidents(api: ApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/v1/incidents").json()["items"]
    return items


def _timeline(api: ApiClient, incident_id: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/incidents/{incident_id}/timeline").json()["items"]
    return [item for item in items if item["item"] == "entry"]


def test_every_automatic_type_has_a_rule_and_all_are_off_by_default(api: ApiClient) -> None:
    body = api.get(RULES).json()

    rules = {rule["incident_type"]: rule for rule in body["rules"]}
    assert sorted(rules) == sorted(
        ["delay", "customs", "lost", "returned", "delivery_failed", "tracking_error"]
    )
    assert not any(rule["enabled"] for rule in rules.values())
    assert all(rule["is_default"] for rule in rules.values())
    assert (rules["delay"]["template_key"], rules["delay"]["params"]) == (
        "delay_notice",
        {"reason": "carrier_backlog"},
    )
    assert rules["customs"]["params"] == {"reason": "customs_screening"}
    assert rules["lost"]["template_key"] == "parcel_lost"
    assert rules["returned"] == {
        "incident_type": "returned",
        "enabled": False,
        "template_key": "parcel_returned",
        "params": {},  # the reason comes from the carrier's words
        "is_default": True,
    }


def test_a_put_replaces_the_rules_and_names_the_first_bad_field(
    api: ApiClient, client: Any, db: Database
) -> None:
    body = _turn_on(api, DELAY_ON)
    rules = {rule["incident_type"]: rule for rule in body["rules"]}
    assert rules["delay"]["enabled"]
    assert not rules["delay"]["is_default"]
    assert rules["customs"]["is_default"]

    for rules_in, field in (
        ([{**DELAY_ON, "incident_type": "weather"}], "rules.0.incident_type"),
        ([DELAY_ON, {**DELAY_ON, "incident_type": "customs", "template_key": "nope"}],
         "rules.1.template_key"),
        ([{**DELAY_ON, "params": {"reason": "aliens"}}], "rules.0.params.reason"),
        ([{**DELAY_ON, "params": {}}], "rules.0.params.reason"),
        ([{**DELAY_ON, "params": {"reason": "peak_season", "mood": "sad"}}],
         "rules.0.params.mood"),
        ([DELAY_ON, DELAY_ON], "rules.1.incident_type"),
    ):  # fmt: skip
        refused = api.put(RULES, json={"rules": rules_in})
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"] == field

    assert _turn_on(api)["rules"][0]["is_default"]  # an empty list: every rule back to default
    reader = ApiClient(client, new_api_key(db, tenant="acme", name="reader", scopes=("read",)))
    assert reader.put(RULES, json={"rules": [DELAY_ON]}).status_code == 403
    assert reader.get(RULES).status_code == 200


def test_with_the_rules_off_an_automatic_incident_tells_nobody(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    _quiet_until_stuck(ops, clock)

    assert run_job(ops, "detect-stuck")["opened"] == 1
    assert stored_messages(db) == []


def test_an_enabled_rule_queues_one_notice_per_parcel_and_type(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    _turn_on(ops, DELAY_ON)
    parcel_id = _quiet_until_stuck(ops, clock)  # Sunday 22 Mar, 10:30 in Berlin

    assert run_job(ops, "detect-stuck")["opened"] == 1

    [incident] = _incidents(ops)
    [message] = stored_messages(db)
    assert str(message.incident_id) == incident["id"]
    assert str(message.parcel_id) == parcel_id
    assert (message.notice_rule, message.proactive, message.actor_type) == ("delay", True, "system")
    assert (message.template_key, message.language) == ("delay_notice", "de")
    assert message.subject == "Ihre Bestellung SO-10023 verspätet sich: der Grund"
    assert (message.delivery, message.next_attempt_at) == ("queued", clock.now)
    assert message.email_to == "maria.schmidt@example.com"
    kinds = [entry["kind"] for entry in _timeline(ops, incident["id"])]
    assert kinds == ["opened", "message_delivery", "message_sent"]  # queued, as it is recorded
    assert incident["first_response_at"] is None  # nobody has answered anyone yet
    assert sorted(e["type"] for e in events(db) if e["type"].startswith("message.")) == [
        "message.created",
        "message.delivery_changed",
    ]  # written at one instant: compared as a set

    resolve_as_rejected(ops, incident["id"])
    clock.advance(hours=1)
    _moves(ops, parcel_id, clock)  # it moves, then stalls again: a second delay incident
    clock.advance(days=10)
    run_job(ops, "poll")
    assert run_job(ops, "detect-stuck")["opened"] == 1

    assert len(_incidents(ops)) == 2
    assert len(stored_messages(db)) == 1  # told once about a delay, however many


def test_a_notice_due_at_night_is_held_until_eight_at_the_customers(
    ops: ApiClient, clock: FakeClock, db: Database
) -> None:
    _turn_on(ops, DELAY_ON)
    _quiet_until_stuck(ops, clock)
    clock.now = datetime(2026, 3, 22, 22, 0, tzinfo=UTC)  # 23:00 in Berlin

    run_job(ops, "detect-stuck")

    [message] = stored_messages(db)
    assert message.delivery == "queued"
    assert message.next_attempt_at == datetime(2026, 3, 23, 7, 0, tzinfo=UTC)  # 08:00 CET
    [incident] = _incidents(ops)
    [delivery] = [e for e in _timeline(ops, incident["id"]) if e["kind"] == "message_delivery"]
    assert delivery["summary"] == (
        "E-mail to the customer queued, to go out from 2026-03-23 07:00 UTC"
    )


@pytest.mark.parametrize(
    ("words", "reason", "sentence"),
    [
        ("Refused by the recipient", "refused", "because delivery was refused"),
        ("Return to sender", None, None),  # the carrier does not say why
    ],
)
def test_a_return_notice_gives_the_carriers_reason_or_is_not_sent(
    ops: ApiClient,
    clock: FakeClock,
    db: Database,
    words: str,
    reason: str | None,
    sentence: str | None,
) -> None:
    _turn_on(ops, {"incident_type": "returned", "enabled": True, "template_key": "parcel_returned"})
    parcel = register_parcel(
        ops, destination_country="US", customer={"email": "kim@example.com", "locale": "en-US"}
    )
    scan = {
        "status": "returned_to_sender",
        "occurred_at": clock.now.isoformat(),
        "description": words,
        "location": {"country": "DE"},
    }
    assert ops.post(f"/v1/parcels/{parcel['id']}/scans", json={"scans": [scan]}).status_code == 200

    assert run_job(ops, "detect-stuck")["opened"] == 1

    [incident] = _incidents(ops)
    messages = stored_messages(db)
    if reason is None:
        assert messages == []
        last = _timeline(ops, incident["id"])[-1]
        assert last["kind"] == "notice_not_sent"
        assert last["summary"].startswith("The returned notice rule sent nothing: params.reason")
        return
    [message] = messages
    assert sentence is not None
    assert sentence in message.body
    assert message.language == "en"
    assert message.next_attempt_at == datetime(2026, 3, 12, 12, 0, tzinfo=UTC)  # 08:00 EDT
