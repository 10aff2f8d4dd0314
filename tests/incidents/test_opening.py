"""``POST /v1/incidents`` without the ORM (``app.incidents.opening``) stores exactly what the ORM
path stores. Each story opens the same incident both ways on PostgreSQL, with the same ids
(``uuid4`` made repeatable), and compares every row written and the answer, byte for byte."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core.settings import Settings
from app.db.engine import Database
from app.incidents.opening import IncidentOpener
from app.outbox import events
from tests.factories import ApiClient, FakeClock, register_parcel
from tests.statements import statements_sent
from tests.webhooks.helpers import add_endpoint, emit_event, tenant_id

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
HOOK = "https://hooks.shop.example/rt"
HOLIDAY = {"holiday_name": "Spring Festival", "from_date": "2026-02-14", "to_date": "2026-02-22"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1"})  # notices are queued


@pytest.fixture
def same_ids(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it before each way: from then on ``uuid4`` gives the same ids in the same order."""
    state: dict[str, Iterator[uuid.UUID]] = {}

    def restart() -> None:
        state["ids"] = (uuid.UUID(int=(0xA11CE << 64) + n) for n in range(1, 10_000))
        monkeypatch.setattr(uuid, "uuid4", lambda: next(state["ids"]))

    return restart


def _rows(db: Database, incident_id: str) -> dict[str, Any]:
    """Every row the opening wrote (a delivery's serial id aside) and the tenant's counter."""

    def all_of(sql: str, *, but: str = "") -> list[dict[str, Any]]:
        with db.session() as session:
            found = session.execute(text(sql), {"id": incident_id}).mappings().all()
            return [{k: v for k, v in row.items() if k != but} for row in found]

    return {
        "incidents": all_of("SELECT * FROM incidents WHERE id = :id"),
        "entries": all_of("SELECT * FROM timeline_entries WHERE incident_id = :id ORDER BY seq"),
        "events": all_of("SELECT * FROM events WHERE incident_id = :id ORDER BY id"),
        "deliveries": all_of(
            "SELECT d.* FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
            "WHERE e.incident_id = :id ORDER BY d.endpoint_id",
            but="id",
        ),
        "numbers": all_of(
            "SELECT t.incident_seq FROM tenants t JOIN incidents i ON i.tenant_id = t.id "
            "WHERE i.id = :id"
        ),
    }


def _forget(db: Database, incident_id: str) -> None:
    """Undo the opening, its number included, so the other way starts from the same state."""
    with db.session() as session:
        for sql in (
            "DELETE FROM webhook_deliveries WHERE event_id IN "
            "(SELECT id FROM events WHERE incident_id = :id)",
            "DELETE FROM events WHERE incident_id = :id",
            "DELETE FROM timeline_entries WHERE incident_id = :id",
            "UPDATE tenants SET incident_seq = incident_seq - 1 "
            "WHERE id = (SELECT tenant_id FROM incidents WHERE id = :id)",
            "DELETE FROM incidents WHERE id = :id",
        ):
            session.execute(text(sql), {"id": incident_id})
        session.commit()


def _both_ways(
    api: ApiClient, app: FastAPI, db: Database, same_ids: Callable[[], None], body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the path without the ORM answered and wrote, what the ORM path did)."""
    seen: dict[str, Any] = {}
    for way, opener in (("loop", app.state.incident_opener), ("orm", IncidentOpener(None))):
        app.state.incident_opener = opener
        same_ids()
        with statements_sent(db, containing="INSERT INTO incidents") as inserts:
            answer = api.post("/v1/incidents", json=body)
        assert answer.status_code == 201, answer.text
        assert len(inserts) == (1 if way == "orm" else 0)  # each way really was taken
        incident_id = answer.json()["id"]
        seen[way] = {
            "answer": answer.json(),
            "headers": (answer.headers["location"], answer.headers["etag"]),
            "rows": _rows(db, incident_id),
        }
        if way == "loop":
            _forget(db, incident_id)
    return seen["loop"], seen["orm"]


def test_a_customers_complaint_is_stored_the_same_either_way(
    api: ApiClient, app: FastAPI, db: Database, same_ids: Callable[[], None]
) -> None:
    parcel = register_parcel(api)
    body = {"type": "delay", "source": "customer", "parcel_id": parcel["id"]}

    loop, orm = _both_ways(api, app, db, same_ids, body)

    assert loop == orm
    rows = loop["rows"]
    assert [e["kind"] for e in rows["entries"]] == ["opened"]
    assert [e["type"] for e in rows["events"]] == ["incident.opened"]
    assert rows["deliveries"] == []
    assert rows["numbers"] == [{"incident_seq": 1}]


def test_every_field_endpoints_a_queue_ahead_and_earlier_notices_are_stored_the_same(
    api: ApiClient,
    app: FastAPI,
    db: Database,
    clock: FakeClock,
    settings: Settings,
    same_ids: Callable[[], None],
) -> None:
    parcel = register_parcel(api)
    acme, now = tenant_id(db), clock.now
    key = settings.resolved_secret_key()
    wants_it, _ = add_endpoint(db, tenant=acme, url=HOOK, server_key=key, now=now)
    add_endpoint(db, tenant=acme, url=HOOK + "/b", server_key=key, now=now, event_types="*")
    add_endpoint(db, tenant=acme, url=HOOK + "/c", server_key=key, now=now, event_types="x.y")
    # a delivery for this parcel still waits at the first endpoint, due tomorrow
    ahead = now + timedelta(days=1)
    emit_event(
        db,
        tenant=acme,
        type="parcel.status_changed",
        at=ahead,
        parcel_id=uuid.UUID(parcel["id"]),
    )
    for _ in range(2):  # two notices the customer got before complaining
        notice = api.post(
            "/v1/notices",
            json={
                "filter": {"parcel_ids": [parcel["id"]]},
                "template_key": "holiday_suspension",
                "params": HOLIDAY,
                "dry_run": False,
            },
        )
        assert notice.status_code == 201, notice.text
        clock.advance(hours=3)
    body = {
        "type": "damaged",
        "source": "agent",
        "parcel_id": parcel["id"],
        "description": "Box crushed at one corner — «photos» attached\x7f",
        "customer_reported_at": (clock.now - timedelta(hours=2)).isoformat(),
        "next_step": {"action": "Ask for photos", "due_at": (now + timedelta(days=2)).isoformat()},
    }

    loop, orm = _both_ways(api, app, db, same_ids, body)

    assert loop == orm
    rows = loop["rows"]
    assert [e["kind"] for e in rows["entries"]] == ["opened", "earlier_message", "earlier_message"]
    assert len(rows["deliveries"]) == 2  # the endpoint for x.y wants none
    queued = next(d for d in rows["deliveries"] if d["endpoint_id"] == wants_it)
    assert queued["next_attempt_at"] == ahead  # behind the one waiting, not before it


def test_a_parcel_the_tenant_lacks_is_the_same_404_and_takes_no_number(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs = register_parcel(other_api)
    ours = register_parcel(api)

    answer = api.post(
        "/v1/incidents", json={"type": "delay", "source": "customer", "parcel_id": theirs["id"]}
    )
    first = api.post(
        "/v1/incidents", json={"type": "delay", "source": "customer", "parcel_id": ours["id"]}
    )

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == f"parcel {theirs['id']} not found"
    assert first.json()["number"] == "INC-000001"


def test_a_request_with_an_idempotency_key_takes_the_orm_path_and_replays(
    api: ApiClient, db: Database
) -> None:
    parcel = register_parcel(api)
    body = {"type": "delay", "source": "customer", "parcel_id": parcel["id"]}
    headers = {"Idempotency-Key": "complaint-4711"}

    with statements_sent(db, containing="INSERT INTO incidents") as inserts:
        first = api.post("/v1/incidents", json=body, headers=headers)
        again = api.post("/v1/incidents", json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len(inserts) == 1  # through the session, whose commit marks the key


def test_an_outbox_subscriber_without_a_twin_on_a_connection_sends_it_through_the_orm(
    api: ApiClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[str] = []
    monkeypatch.setattr(
        events, "_subscribers", [*events._subscribers, lambda _s, e: heard.append(e.type)]
    )
    parcel = register_parcel(api)

    with statements_sent(db, containing="INSERT INTO incidents") as inserts:
        answer = api.post(
            "/v1/incidents", json={"type": "delay", "source": "customer", "parcel_id": parcel["id"]}
        )

    assert answer.status_code == 201, answer.text
    assert len(inserts) == 1
    assert "incident.opened" in heard
