"""A holiday notice to thirty customers: dry run, the real thing, retries, and reading it back."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.db.engine import Database
from app.notify.models import Notice
from app.workflow.messages.delivery import NO_ADDRESS, OPTED_OUT
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.jobs import events
from tests.notify.customers import HOLIDAY, stored_messages, thirty_customers

SANDBOX_ONLY = {"carrier": "sandbox"}


def _notice(dry_run: bool, **overrides: Any) -> dict[str, Any]:
    return {
        "filter": SANDBOX_ONLY,
        "template_key": "holiday_suspension",
        "params": HOLIDAY,
        "dry_run": dry_run,
        **overrides,
    }


def _count_notices(db: Database) -> int:
    with db.session() as session:
        return len(session.exec(select(Notice)).all())


def test_a_dry_run_counts_the_customers_and_shows_one_sample_per_language(
    api: ApiClient, db: Database
) -> None:
    thirty_customers(api, db)
    register_parcel(api)  # a UPS parcel: not in the filter

    response = api.post("/v1/notices", json=_notice(dry_run=True))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["count"], body["no_email_count"], body["opted_out_count"]) == (30, 6, 4)
    assert (body["to_send"], body["sending_off"]) == (20, False)
    samples = {s["language"]: s for s in body["samples"]}
    assert sorted(samples) == ["de", "en", "fr"]
    german = samples["de"]
    assert german["subject"] == (
        f"Bestellung {german['order_id']}: kurze Pause über die Feiertage (Spring Festival)"
    )
    assert "Jürgen Weiß" in samples["de"]["body"]
    assert "22. Februar 2026" in samples["de"]["body"]  # dates in the customer's locale
    assert "22 février 2026" in samples["fr"]["body"]
    assert all(int(s["order_id"][3:]) % 3 == 2 for s in [samples["en"]])  # the English ones
    assert "<p>" in samples["en"]["body_html"]
    assert stored_messages(db) == []
    assert _count_notices(db) == 0


def test_sending_queues_one_message_per_parcel_and_a_retry_writes_nothing(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    parcels = thirty_customers(api, db)
    key = {"Idempotency-Key": "holiday-2026"}

    response = api.post("/v1/notices", json=_notice(dry_run=False), headers=key)

    assert response.status_code == 201, response.text
    notice = response.json()
    assert response.headers["Location"] == f"/v1/notices/{notice['id']}"
    assert notice["progress"] == {"queued": 20, "sent": 0, "failed": 0, "not_sent": 10}
    assert (notice["parcel_count"], notice["no_email_count"], notice["opted_out_count"]) == (
        30,
        6,
        4,
    )
    assert notice["filter"] == SANDBOX_ONLY
    assert notice["params"] == HOLIDAY
    assert notice["actor"]["name"] == "agent-anna"
    messages = stored_messages(db)
    assert len(messages) == 30
    of = {str(m.parcel_id): m for m in messages}
    assert sorted(of) == sorted(p["id"] for p in parcels)
    for message in messages:
        assert str(message.notice_id) == notice["id"]
        assert message.incident_id is None
        assert message.proactive
        assert (message.channel, message.direction) == ("email", "out")
        assert message.occurred_at == clock.now
    german, french = of[parcels[3]["id"]], of[parcels[4]["id"]]
    assert (german.language, german.delivery, german.delivery_error) == (
        "de",
        "not_sent",
        OPTED_OUT,
    )
    assert (french.language, french.delivery) == ("fr", "not_sent")
    unreachable = of[parcels[15]["id"]]
    assert (unreachable.delivery, unreachable.delivery_error) == ("not_sent", NO_ADDRESS)
    queued = [m for m in messages if m.delivery == "queued"]
    assert len(queued) == 20
    assert all(m.next_attempt_at == clock.now and m.email_to for m in queued)  # 10:30 in Berlin
    assert queued[0].summary == queued[0].subject

    retry = api.post("/v1/notices", json=_notice(dry_run=False), headers=key)

    assert retry.status_code == 201
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json() == notice
    assert len(stored_messages(db)) == 30
    assert _count_notices(db) == 1

    again = api.post("/v1/notices", json=_notice(dry_run=False))  # no key: a second notice

    assert again.status_code == 201
    assert again.json()["id"] != notice["id"]
    assert len(stored_messages(db)) == 60
    assert _count_notices(db) == 2


def test_a_notice_reads_back_with_its_progress_and_lists_newest_first(
    api: ApiClient, other_api: ApiClient, db: Database, clock: FakeClock
) -> None:
    parcels = thirty_customers(api, db)
    first = api.post("/v1/notices", json=_notice(dry_run=False)).json()
    clock.advance(minutes=5)
    second = api.post(
        "/v1/notices",
        json=_notice(dry_run=False, filter={"parcel_ids": [parcels[7]["id"]]}),
    ).json()

    read = api.get(f"/v1/notices/{first['id']}")

    assert read.status_code == 200
    assert read.json() == first
    page = api.get("/v1/notices", params={"page_size": 1}).json()
    assert [n["id"] for n in page["items"]] == [second["id"]]
    assert second["progress"] == {"queued": 1, "sent": 0, "failed": 0, "not_sent": 0}
    rest = api.get("/v1/notices", params={"page_token": page["next_page_token"]}).json()
    assert [n["id"] for n in rest["items"]] == [first["id"]]
    assert rest["next_page_token"] is None
    # each message's event carries it exactly as the API shows it
    [told] = api.get(f"/v1/parcels/{parcels[7]['id']}/messages").json()["items"][1:]
    [event] = [
        e
        for e in events(db, "message.delivery_changed")
        if e["payload"]["message"]["id"] == told["id"]
    ]
    assert event["payload"] == {"message": told, "previous": None}
    assert event["parcel_id"] == parcels[7]["id"]
    assert other_api.get(f"/v1/notices/{first['id']}").status_code == 404
    assert other_api.get("/v1/notices").json()["items"] == []
