"""The dispatcher against a real receiver on 127.0.0.1: signed, retried, judged, disabled."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from app.core.settings import Settings
from app.db.engine import Database
from app.outbox.events import EVENT_TYPES
from app.webhooks.dispatch.payloads import message_id
from tests.factories import ApiClient, FakeClock, open_incident, register_parcel
from tests.webhooks.conftest import FAST_SCHEDULE, deliver_now, verify
from tests.webhooks.helpers import (
    attempts,
    deliveries,
    emit_event,
    endpoint_row,
    make_parcels,
    subscribe,
    tenant_id,
)
from tests.webhooks.receiver import Received, Receiver, Reply


def answer_by_path(**paths: Reply) -> Receiver:
    return Receiver(lambda request: paths.get(request.path.strip("/"), Reply()))


def test_an_opened_incident_reaches_the_subscriber_signed(
    api: ApiClient, db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint = subscribe(api, receiver.url(), event_types=["incident.opened"])
    parcel = register_parcel(api, carrier="sandbox", tracking_number="SANDBOX-STALLED-0001")
    incident = open_incident(api, parcel["id"]).json()

    run = api.post("/v1/admin/jobs/deliver-webhooks/run")

    assert run.status_code == 200
    assert run.json()["counts"]["delivered"] == 1
    [request] = receiver.requests
    body = verify(request, endpoint["secret"], now=clock.now)
    assert body["type"] == "incident.opened"
    assert body["timestamp"] == "2026-03-12T09:30:00+00:00"
    assert body["data"]["incident"]["id"] == incident["id"]
    assert body["data"]["incident"]["number"] == incident["number"]
    assert body["data"]["parcel"]["id"] == parcel["id"]
    assert body["data"]["links"] == {
        "incident": f"https://tracker.example.com/v1/incidents/{incident['id']}",
        "parcel": f"https://tracker.example.com/v1/parcels/{parcel['id']}",
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-timestamp"] == str(int(clock.now.timestamp()))
    [delivery] = deliveries(db)
    assert request.headers["webhook-id"] == message_id(delivery.event_id)
    assert (delivery.delivered_at, delivery.last_attempt_at) == (clock.now, clock.now)
    assert (delivery.last_error, delivery.lease_until, delivery.next_attempt_at) == (None,) * 3
    listed = api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["items"]
    assert [(d["status"], d["attempts"], d["event_type"]) for d in listed] == [
        ("delivered", 1, "incident.opened")
    ]
    detail = api.get(f"/v1/webhook-deliveries/{listed[0]['id']}").json()
    [attempt] = detail["attempt_log"]
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "ok"
    assert attempt["error"] is None


def test_retries_keep_the_id_and_body_with_a_fresh_timestamp(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    answers = iter([Reply(500), Reply(502), Reply(200)])
    with Receiver(lambda _: next(answers)) as receiver:
        endpoint = subscribe(api, receiver.url())
        tenant = tenant_id(db)
        [parcel] = make_parcels(db, tenant, 1, clock.now)
        emit_event(db, tenant=tenant, type="parcel.stuck", at=clock.now, parcel_id=parcel)
        for _ in range(3):
            deliver_now(db, settings, clock)
            clock.advance(seconds=1)

    ids = {r.headers["webhook-id"] for r in receiver.requests}
    timestamps = [int(r.headers["webhook-timestamp"]) for r in receiver.requests]
    assert len(receiver.requests) == 3
    assert len(ids) == 1
    assert timestamps == sorted(timestamps)
    assert len(set(timestamps)) == 3
    assert len({r.body for r in receiver.requests}) == 1
    for request, at in zip(receiver.requests, timestamps, strict=True):
        verify(request, endpoint["secret"], now=clock.now.fromtimestamp(at, clock.now.tzinfo))
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)


def test_a_delivery_that_always_fails_gets_every_retry_then_fails(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    with Receiver(lambda _: Reply(500, body=b"boom")) as receiver:
        subscribe(api, receiver.url())
        emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
        for _ in range(len(FAST_SCHEDULE) + 3):
            deliver_now(db, settings, clock)
            clock.advance(seconds=1)

    assert len(receiver.requests) == len(FAST_SCHEDULE) + 1
    [delivery] = deliveries(db)
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    assert delivery.last_error == "HTTP 500"
    assert [a.response_excerpt for a in attempts(db)] == ["boom"] * (len(FAST_SCHEDULE) + 1)


def test_gone_disables_the_endpoint_and_tells_the_tenants_other_endpoints(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    with answer_by_path(gone=Reply(410)) as receiver:
        gone = subscribe(api, receiver.url("/gone"), event_types=["carrier.unavailable"])
        ops = subscribe(api, receiver.url("/ops"), event_types=["webhook_endpoint.disabled"])
        emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)

        first = deliver_now(db, settings, clock)
        clock.advance(seconds=1)
        deliver_now(db, settings, clock)

    assert first["endpoints_disabled"] == 1
    assert [r.path for r in receiver.requests] == ["/gone", "/ops"]
    disabled = endpoint_row(db, gone["id"])
    assert (disabled.enabled, disabled.disabled_reason) == (False, "gone")
    notice = json.loads(receiver.requests[1].body)
    assert notice["type"] == "webhook_endpoint.disabled"
    assert notice["data"]["endpoint"]["id"] == gone["id"]
    assert notice["data"]["reason"] == "gone"
    assert "whsec_" not in receiver.requests[1].body.decode()
    verify(receiver.requests[1], ops["secret"], now=clock.now)
    # nothing more goes to a disabled endpoint
    emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
    assert len(deliveries(db, gone["id"])) == 1


def test_a_redirect_is_a_failure_and_is_not_followed(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    with Receiver() as canary:
        redirect = Reply(302, headers={"location": canary.url("/stolen")})
        with Receiver(lambda _: redirect) as receiver:
            subscribe(api, receiver.url())
            emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
            deliver_now(db, settings, clock)

    assert len(receiver.requests) == 1
    assert canary.requests == []
    assert canary.connections == 0
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert delivery.last_error == "redirect (302) not followed"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings, status: int
) -> None:
    with Receiver(lambda _: Reply(status, headers={"retry-after": "120"})) as receiver:
        subscribe(api, receiver.url())
        emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
        deliver_now(db, settings, clock)
        clock.advance(seconds=119)
        deliver_now(db, settings, clock)
        assert len(receiver.requests) == 1
        clock.advance(seconds=2)
        deliver_now(db, settings, clock)

    assert len(receiver.requests) == 2


def test_no_answer_within_the_timeout_is_a_failure(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    quick = settings.model_copy(update={"webhook_timeout_seconds": 0.3})
    with Receiver(lambda _: Reply(200, delay=1.0)) as receiver:
        subscribe(api, receiver.url())
        emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
        deliver_now(db, quick, clock)

    [delivery] = deliveries(db)
    assert delivery.status == "pending"
    assert delivery.last_error == "no answer within 0.3 s"
    assert delivery.attempts == 1


def test_only_the_first_2_kb_of_an_answer_is_kept(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    with Receiver(lambda _: Reply(200, body=b"x" * 10_000)) as receiver:
        subscribe(api, receiver.url())
        emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
        deliver_now(db, settings, clock)

    [attempt] = attempts(db)
    assert attempt.response_excerpt == "x" * 2048


def fails_first_attempt_of(event_type: str, parcel_id: uuid.UUID) -> Receiver:
    """500 to the first attempt of ``event_type`` for that parcel (whichever parcel's event
    happens to arrive first: the dispatcher sends concurrently)."""
    seen: Counter[str] = Counter()

    def behaviour(request: Received) -> Reply:
        body = json.loads(request.body)
        if body["type"] != event_type or body["data"]["parcel_id"] != str(parcel_id):
            return Reply()
        seen[event_type] += 1
        return Reply(500) if seen[event_type] == 1 else Reply()

    return Receiver(behaviour)


def test_one_parcels_events_arrive_in_the_order_they_occurred(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    tenant = tenant_id(db)
    parcel, other = make_parcels(db, tenant, 2, clock.now)
    with fails_first_attempt_of("incident.opened", parcel) as receiver:
        subscribe(api, receiver.url())
        opened_at = clock.now
        emit_event(db, tenant=tenant, type="incident.opened", at=opened_at, parcel_id=parcel)
        emit_event(db, tenant=tenant, type="incident.resolved", at=opened_at, parcel_id=parcel)
        emit_event(db, tenant=tenant, type="incident.opened", at=opened_at, parcel_id=other)

        deliver_now(db, settings, clock)
        # the resolved event waits behind the failed opened one; the other parcel does not
        assert [json.loads(r.body)["type"] for r in receiver.requests] == [
            "incident.opened",
            "incident.opened",
        ]
        clock.advance(seconds=1)
        deliver_now(db, settings, clock)

    by_parcel = [
        (json.loads(r.body)["data"]["parcel_id"], json.loads(r.body)["type"])
        for r in receiver.requests
    ]
    assert [kind for pid, kind in by_parcel if pid == str(parcel)] == [
        "incident.opened",
        "incident.opened",
        "incident.resolved",
    ]
    assert {d.status for d in deliveries(db)} == {"delivered"}


def test_an_endpoint_failing_for_five_days_is_disabled(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    with Receiver(lambda _: Reply(500)) as receiver:
        endpoint = subscribe(api, receiver.url(), event_types=["carrier.unavailable"])
        tenant = tenant_id(db)
        disabled_on = None
        for day in range(7):
            emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
            counts = deliver_now(db, settings, clock)
            if counts.get("endpoints_disabled"):
                disabled_on = day
                break
            clock.advance(days=1)

    assert disabled_on == 5
    row = endpoint_row(db, endpoint["id"])
    assert (row.enabled, row.disabled_reason) == (False, "failing")
    assert row.failing_since == clock.now - timedelta(days=5)
    assert not any(d.status == "delivered" for d in deliveries(db, endpoint["id"]))
    assert {r.headers["webhook-id"] for r in receiver.requests} == {
        message_id(d.event_id) for d in deliveries(db, endpoint["id"])
    }


def test_an_endpoint_that_sometimes_succeeds_is_never_disabled(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    answers = Counter[str]()

    def alternate(_: Received) -> Reply:
        answers["n"] += 1
        return Reply(200 if answers["n"] % 2 else 500)

    with Receiver(alternate) as receiver:
        endpoint = subscribe(api, receiver.url(), event_types=["carrier.unavailable"])
        tenant = tenant_id(db)
        for _ in range(8):
            emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
            emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
            deliver_now(db, settings, clock)
            clock.advance(days=1)

    assert endpoint_row(db, endpoint["id"]).enabled is True
    assert len(receiver.requests) >= 16


def test_during_a_rotation_both_secrets_sign(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings, receiver: Receiver
) -> None:
    endpoint = subscribe(api, receiver.url())
    rotated = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").json()
    tenant = tenant_id(db)

    emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
    deliver_now(db, settings, clock)
    clock.advance(hours=24, seconds=1)
    emit_event(db, tenant=tenant, type="carrier.recovered", at=clock.now)
    deliver_now(db, settings, clock)

    during, after = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verify(during, endpoint["secret"], now=clock.now - timedelta(hours=24, seconds=1))
    verify(during, rotated["secret"], now=clock.now - timedelta(hours=24, seconds=1))
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verify(after, rotated["secret"], now=clock.now)
    with pytest.raises(Exception, match="No matching signature"):
        verify(after, endpoint["secret"], now=clock.now)


def test_every_event_type_can_be_subscribed_to(api: ApiClient, receiver: Receiver) -> None:
    endpoint = subscribe(api, receiver.url(), event_types=sorted(EVENT_TYPES))

    assert endpoint["event_types"] == sorted(EVENT_TYPES)


def test_secrets_never_reach_the_logs(
    api: ApiClient,
    db: Database,
    clock: FakeClock,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with answer_by_path(gone=Reply(410)) as receiver:
        gone = subscribe(api, receiver.url("/gone"))
        ops = subscribe(api, receiver.url("/ops"))
        rotated = api.post(f"/v1/webhook-endpoints/{ops['id']}/rotate-secret").json()
        emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
        api.post("/v1/admin/jobs/deliver-webhooks/run")
        api.post("/v1/admin/jobs/deliver-webhooks/run")

    assert endpoint_row(db, gone["id"]).disabled_reason == "gone"
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert "webhook endpoint disabled" in logged
    for secret in (gone["secret"], ops["secret"], rotated["secret"]):
        assert secret not in logged
        assert secret.removeprefix("whsec_") not in logged
    assert "whsec_" not in repr(receiver.requests)


def test_nothing_is_sent_for_an_endpoint_disabled_behind_our_back(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings, receiver: Receiver
) -> None:
    endpoint = subscribe(api, receiver.url())
    emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
    with db.session() as session:  # not through the API, so its delivery stays scheduled
        row = endpoint_row(db, endpoint["id"])
        row.enabled = False
        session.add(row)
        session.commit()

    deliver_now(db, settings, clock)

    assert receiver.requests == []
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.next_attempt_at, delivery.lease_until) == (
        "pending",
        None,
        None,
    )


@pytest.mark.parametrize(("stopped", "status"), [("disabled", "pending"), ("deleted", "cancelled")])
def test_a_due_delivery_of_a_stopped_endpoint_is_set_right_not_sent(
    api: ApiClient,
    db: Database,
    clock: FakeClock,
    settings: Settings,
    receiver: Receiver,
    stopped: str,
    status: str,
) -> None:
    """Disabling pauses and deleting cancels an endpoint's deliveries in the same transaction;
    should a due one still turn up (a row written past that), the lease leaves it unsent and
    sets it right: paused (no next attempt) or cancelled, and not held by a lease."""
    endpoint = subscribe(api, receiver.url())
    tenant = tenant_id(db)
    [parcel] = make_parcels(db, tenant, 1, clock.now)
    emit_event(db, tenant=tenant, type="parcel.stuck", at=clock.now, parcel_id=parcel)
    with db.session() as session:
        row = endpoint_row(db, endpoint["id"])
        if stopped == "disabled":
            row.enabled = False
        else:
            row.deleted_at = clock.now
        session.add(row)
        session.commit()

    counts = deliver_now(db, settings, clock)

    assert receiver.requests == []
    assert counts.get("delivered", 0) == 0
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.next_attempt_at, delivery.lease_until) == (status, None, None)
    assert delivery.attempts == 0
