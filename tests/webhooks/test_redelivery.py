"""Sending again on request: retry one delivery, replay since a time, a test message."""

from __future__ import annotations

import json

from app.core.settings import Settings
from app.db.engine import Database
from app.webhooks.dispatch.payloads import message_id
from tests.factories import ApiClient, FakeClock
from tests.webhooks.conftest import FAST_SCHEDULE, deliver_now, verify
from tests.webhooks.helpers import deliveries, emit_event, subscribe, tenant_id
from tests.webhooks.receiver import Receiver, Reply


def test_a_failed_delivery_can_be_retried_with_the_same_id_and_body(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    healthy = False
    with Receiver(lambda _: Reply(200 if healthy else 500)) as receiver:
        endpoint = subscribe(api, receiver.url())
        emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
        for _ in range(len(FAST_SCHEDULE) + 1):
            deliver_now(db, settings, clock)
            clock.advance(seconds=1)
        [failed] = deliveries(db)
        assert failed.status == "failed"

        healthy = True
        retried = api.post(f"/v1/webhook-deliveries/{failed.id}/retry")
        deliver_now(db, settings, clock)

    assert retried.status_code == 202
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    [delivered] = deliveries(db)
    assert (delivered.status, delivered.attempts) == ("delivered", 1)
    first, last = receiver.requests[0], receiver.requests[-1]
    assert last.headers["webhook-id"] == first.headers["webhook-id"]
    assert last.body == first.body
    verify(last, endpoint["secret"], now=clock.now)
    detail = api.get(f"/v1/webhook-deliveries/{failed.id}").json()
    assert len(detail["attempt_log"]) == len(FAST_SCHEDULE) + 2
    assert [a["status_code"] for a in detail["attempt_log"]][-2:] == [500, 200]


def test_replay_resends_everything_since_a_time_including_what_was_missed(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings, receiver: Receiver
) -> None:
    endpoint = subscribe(api, receiver.url(), event_types=["carrier.unavailable"])
    tenant = tenant_id(db)
    emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)  # before `since`
    clock.advance(hours=1)
    since = clock.now
    delivered_before = emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
    deliver_now(db, settings, clock)
    api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False})
    clock.advance(minutes=5)
    missed = emit_event(db, tenant=tenant, type="carrier.unavailable", at=clock.now)
    emit_event(db, tenant=tenant, type="carrier.recovered", at=clock.now)  # not subscribed
    api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True})
    receiver.requests.clear()

    replay = api.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/replay", json={"since": since.isoformat()}
    )
    deliver_now(db, settings, clock)

    assert replay.status_code == 202
    assert replay.json() == {"queued": 2}
    # events without a parcel have no order to keep (ordering is per endpoint and parcel), and
    # the dispatcher sends several at once
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(
        [message_id(delivered_before), message_id(missed)]
    )


def test_a_test_message_goes_to_that_endpoint_only(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings, receiver: Receiver
) -> None:
    target = subscribe(api, receiver.url("/target"))
    subscribe(api, receiver.url("/bystander"))

    queued = api.post(f"/v1/webhook-endpoints/{target['id']}/test")
    deliver_now(db, settings, clock)

    assert queued.status_code == 202
    assert queued.json()["event_type"] == "webhook.test"
    [request] = receiver.requests
    assert request.path == "/target"
    body = verify(request, target["secret"], now=clock.now)
    assert body["type"] == "webhook.test"
    assert body["data"]["endpoint_id"] == target["id"]
    listed = api.get(
        f"/v1/webhook-endpoints/{target['id']}/deliveries",
        params={"status": "delivered", "event_type": "webhook.test"},
    ).json()["items"]
    assert [d["id"] for d in listed] == [queued.json()["id"]]
    assert json.loads(request.body)["data"]["links"] == {}


def test_another_tenants_delivery_is_404(
    api: ApiClient, other_api: ApiClient, db: Database, clock: FakeClock
) -> None:
    subscribe(api, "https://127.0.0.1/hook")
    emit_event(db, tenant=tenant_id(db), type="carrier.unavailable", at=clock.now)
    [delivery] = deliveries(db)

    assert other_api.get(f"/v1/webhook-deliveries/{delivery.id}").status_code == 404
    assert other_api.post(f"/v1/webhook-deliveries/{delivery.id}/retry").status_code == 404
