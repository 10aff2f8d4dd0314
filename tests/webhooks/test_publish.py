"""The outbox: delivery rows are written with their event, for the endpoints that want it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from app.db.engine import Database
from app.outbox.events import emit
from app.outbox.models import Event
from app.webhooks.models import WebhookDelivery
from tests.factories import ApiClient, FakeClock, open_incident, register_parcel
from tests.webhooks.helpers import deliveries, emit_event, make_parcels, subscribe, tenant_id

HOOK = "https://127.0.0.1/hook"


def test_an_event_and_its_deliveries_commit_together_or_not_at_all(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    subscribe(api, HOOK)
    tenant = tenant_id(db)

    with db.session() as session:
        emit(
            session, type="carrier.unavailable", occurred_at=clock.now, tenant_id=tenant, payload={}
        )
        session.rollback()
    assert deliveries(db) == []

    event_id = emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
    [delivery] = deliveries(db)
    assert delivery.event_id == event_id
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.next_attempt_at == clock.now


def test_only_enabled_endpoints_of_the_tenant_that_want_the_type_get_a_delivery(
    api: ApiClient, other_api: ApiClient, db: Database, clock: FakeClock
) -> None:
    everything = subscribe(api, HOOK)
    subscribe(api, HOOK, event_types=["incident.resolved"])
    subscribe(api, HOOK, enabled=False)
    deleted = subscribe(api, HOOK)
    api.delete(f"/v1/webhook-endpoints/{deleted['id']}")
    subscribe(other_api, HOOK)
    parcel = register_parcel(api, carrier="sandbox", tracking_number="SANDBOX-STALLED-0002")

    open_incident(api, parcel["id"])

    rows = deliveries(db)
    assert {str(r.endpoint_id) for r in rows} == {everything["id"]}
    assert [r.event_type for r in rows] == ["incident.opened"]


def test_a_carrier_outage_reaches_every_tenant_that_subscribes(
    api: ApiClient, other_api: ApiClient, db: Database, clock: FakeClock
) -> None:
    mine = subscribe(api, HOOK, event_types=["carrier.unavailable"])
    theirs = subscribe(other_api, HOOK)

    emit_event(db, tenant=None, type="carrier.unavailable", at=clock.now)

    assert {str(r.endpoint_id) for r in deliveries(db)} == {mine["id"], theirs["id"]}


def test_deleting_an_endpoint_cancels_what_it_still_had_to_send(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    endpoint = subscribe(api, HOOK)
    emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)

    api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")

    [delivery] = deliveries(db)
    assert delivery.status == "cancelled"


def test_disabling_pauses_pending_deliveries_and_enabling_resumes_them(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    endpoint = subscribe(api, HOOK)
    emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)

    api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False})
    [paused] = deliveries(db)
    clock.advance(hours=1)
    api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True})
    [resumed] = deliveries(db)

    assert (paused.status, paused.next_attempt_at) == ("pending", None)
    assert resumed.next_attempt_at == clock.now


def test_a_parcels_new_delivery_is_never_due_before_the_one_ahead_of_it(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    subscribe(api, HOOK)
    tenant = tenant_id(db)
    [parcel] = make_parcels(db, tenant, 1, clock.now)
    emit_event(db, tenant=tenant, type="incident.opened", at=clock.now, parcel_id=parcel)
    retry_at = clock.now + timedelta(hours=2)
    with db.session() as session:
        first = session.exec(select(WebhookDelivery)).one()
        first.next_attempt_at = retry_at  # as if its first attempt failed
        session.add(first)
        session.commit()

    emit_event(db, tenant=tenant, type="incident.resolved", at=clock.now, parcel_id=parcel)

    assert [d.next_attempt_at for d in deliveries(db)] == [retry_at, retry_at]


def test_a_domain_event_stores_the_objects_as_the_api_returns_them(
    api: ApiClient, db: Database
) -> None:
    parcel = register_parcel(api, carrier="sandbox", tracking_number="SANDBOX-STALLED-0003")
    incident = open_incident(api, parcel["id"]).json()

    with db.session() as session:
        event = session.exec(select(Event).where(Event.type == "incident.opened")).one()
    stored = json.loads(event.payload)
    assert stored["incident"]["id"] == incident["id"]
    assert stored["incident"]["number"] == incident["number"]
    assert stored["parcel"]["tracking_number"] == "SANDBOX-STALLED-0003"
