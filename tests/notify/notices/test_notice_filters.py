"""Which parcels a notice reaches, and the notices that are refused before anything is stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.engine import Database
from tests.auto_incidents.test_job import _stalled_parcel
from tests.auto_incidents.test_rearm import _moves
from tests.factories import ApiClient, FakeClock, new_api_key, register_parcel
from tests.jobs import run_job
from tests.notify.customers import HOLIDAY, customer, stored_messages


def _dry(api: ApiClient, **body: Any) -> Any:
    return api.post(
        "/v1/notices",
        json={"template_key": "holiday_suspension", "params": HOLIDAY, **body},
    )


def _matched(api: ApiClient, criteria: dict[str, Any]) -> int:
    response = _dry(api, filter=criteria)
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


def test_every_criterion_narrows_the_parcels(api: ApiClient, clock: FakeClock) -> None:
    de = customer(api, 1, locale="de-DE", country="DE", name="A", shipped_at="2026-03-01T10:00:00Z")
    customer(api, 2, locale="fr-FR", country="FR", name="B", shipped_at="2026-03-05T10:00:00Z")
    customer(api, 3, locale="de-DE", country="DE", name="C", origin_country="HK", shipped_at=None)
    register_parcel(api)  # UPS, to DE, shipped 2 March (the payload's default)

    assert _matched(api, {"carrier": "sandbox"}) == 3
    assert _matched(api, {"destination_country": "de"}) == 3
    assert _matched(api, {"origin_country": "HK"}) == 1
    assert _matched(api, {"status": "info_received"}) == 4
    assert _matched(api, {"status": "delivered"}) == 0
    assert _matched(api, {"shipped_after": "2026-03-02T00:00:00Z"}) == 2
    assert _matched(api, {"shipped_before": "2026-03-05T10:00:00Z"}) == 2
    assert _matched(api, {"carrier": "sandbox", "destination_country": "DE"}) == 2
    assert _matched(api, {"parcel_ids": [de["id"]], "carrier": "ups"}) == 0
    assert _matched(api, {"parcel_ids": [de["id"], de["id"]]}) == 1


def test_stuck_means_an_open_automatic_incident_or_stuck_now(
    ops: ApiClient, clock: FakeClock
) -> None:
    with_incident = _stalled_parcel(ops, clock, "SANDBOX-STALLED-A")
    clock.advance(days=7)
    run_job(ops, "poll")
    assert run_job(ops, "detect-stuck")["opened"] == 1
    _moves(ops, with_incident, clock)  # moving again, its incident still open
    stuck_now = _stalled_parcel(ops, clock, "SANDBOX-STALLED-B")
    clock.advance(days=7)
    run_job(ops, "poll")  # B is quiet long enough, and nobody ran detection yet
    moving = register_parcel(ops, tracking_number="SANDBOX-INTRANSIT-C", carrier=None)

    stuck = _dry(ops, filter={"stuck": True}).json()
    not_stuck = _dry(ops, filter={"stuck": False, "carrier": "sandbox"}).json()

    assert stuck["count"] == 2
    assert {s["parcel_id"] for s in stuck["samples"]} == {with_incident, stuck_now}
    assert [s["parcel_id"] for s in not_stuck["samples"]] == [moving["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": {}}, "filter"),
        ({"filter": {"stuck": None}}, "filter"),
        ({"filter": {"carrier": "pigeon"}}, "filter.carrier"),
        ({"filter": {"destination_country": "XX"}}, "filter.destination_country"),
        ({"filter": {"status": "lost_in_space"}}, "filter.status"),
        (
            {"filter": {"shipped_after": "2026-03-05T00:00:00Z",
                        "shipped_before": "2026-03-01T00:00:00Z"}},
            "filter.shipped_before",
        ),
        ({"filter": {"parcel_ids": []}}, "filter.parcel_ids"),
        ({"filter": {"carrier": "ups"}, "template_key": "incident_closed", "params": {}},
         "template_key"),
        ({"filter": {"carrier": "ups"}, "template_key": "no_such_template"}, "template_key"),
        ({"filter": {"carrier": "ups"}, "params": {**HOLIDAY, "to_date": "2026-01-01"}},
         "params.to_date"),
        ({"filter": {"carrier": "ups"}, "params": {"holiday_name": "Tet"}}, "params.from_date"),
        ({"filter": {"carrier": "ups"}, "surprise": True}, "surprise"),
    ],
)  # fmt: skip
def test_a_notice_that_cannot_be_sent_is_refused_naming_the_field(
    api: ApiClient, db: Database, body: dict[str, Any], field: str
) -> None:
    register_parcel(api)
    payload = {"template_key": "holiday_suspension", "params": HOLIDAY, "dry_run": False, **body}

    response = api.post("/v1/notices", json=payload)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert stored_messages(db) == []


def test_a_list_of_parcels_must_all_be_yours(api: ApiClient, other_api: ApiClient) -> None:
    mine = register_parcel(api)
    theirs = register_parcel(other_api)

    response = _dry(api, filter={"parcel_ids": [mine["id"], theirs["id"]]})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "filter.parcel_ids"
    assert theirs["id"] in error["message"]


def test_sending_to_nobody_is_refused_and_a_dry_run_just_says_none(api: ApiClient) -> None:
    register_parcel(api)

    dry = _dry(api, filter={"status": "delivered"})
    real = _dry(api, filter={"status": "delivered"}, dry_run=False)

    assert dry.status_code == 200
    assert dry.json()["count"] == 0
    assert dry.json()["samples"] == []
    assert real.status_code == 422
    assert real.json()["errors"][0] == {
        "field": "filter",
        "message": "matches no parcel: nothing to send",
    }


def test_only_a_key_that_may_write_incidents_sends_notices(
    client: TestClient, db: Database, api: ApiClient
) -> None:
    register_parcel(api)
    reader = ApiClient(client, new_api_key(db, tenant="acme", name="reader", scopes=("read",)))

    assert _dry(reader, filter={"carrier": "ups"}).status_code == 403
    assert reader.get("/v1/notices").status_code == 200
