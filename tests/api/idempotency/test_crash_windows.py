"""What a retry sees when the first attempt's process stopped at each point of its life.

The first attempt claims the key, its work commits together with the key's mark
(``committed``), then its answer is stored (``done``) and sent. A process can stop between any
two of these; the retry must never run committed work a second time.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from functools import partial

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from app.api.idempotency import marking, records
from app.core.models import IdempotencyRecord, Tenant
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant, hash_key
from app.db.engine import Database
from app.db.unit_of_work import before_commit
from app.incidents.models import Incident
from app.main import create_app
from tests.factories import ApiClient, FakeClock, register_parcel

KEY = "storefront-retry-77"


def incident_body(api: ApiClient) -> bytes:
    parcel_id = register_parcel(api)["id"]
    return json.dumps({"type": "delay", "source": "customer", "parcel_id": parcel_id}).encode()


def post(api: ApiClient, body: bytes) -> httpx.Response:
    headers = {"Idempotency-Key": KEY, "Content-Type": "application/json"}
    return api.post("/v1/incidents", content=body, headers=headers)


def incidents(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Incident)).one()


def the_record(db: Database) -> IdempotencyRecord:
    with db.session() as session:
        return session.exec(select(IdempotencyRecord)).one()


def test_an_answer_is_stored_encrypted_with_the_work_marked_done(
    api: ApiClient, db: Database
) -> None:
    body = incident_body(api)

    first = post(api, body)

    record = the_record(db)
    assert (record.state, record.response_status, record.sealed) == ("done", 201, True)
    assert record.response_body is not None
    assert first.json()["id"].encode() not in record.response_body


def test_work_committed_but_its_answer_never_stored_is_never_run_again(
    api: ApiClient, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = incident_body(api)

    def database_gone(*_: object, **__: object) -> bool:
        raise OperationalError("UPDATE idempotency_keys", {}, Exception("connection lost"))

    monkeypatch.setattr(records, "store_answer", database_gone)
    first = post(api, body)
    monkeypatch.undo()

    assert first.status_code == 201
    record = the_record(db)  # what a crash right after the commit leaves behind
    assert (record.state, record.response_status, record.response_body) == ("committed", 201, None)
    soon = post(api, body)
    assert soon.status_code == 409
    assert soon.json()["type"].endswith("idempotency-key-in-progress")
    assert soon.headers["retry-after"] == "1"

    clock.advance(minutes=3)
    later = post(api, body)

    assert later.status_code == 409
    problem = later.json()
    assert problem["type"].endswith("idempotency-answer-lost")
    assert problem["original_status"] == 201
    assert problem["location"] == first.headers["location"]
    assert "retry-after" not in later.headers
    assert incidents(db) == 1


def test_work_that_never_committed_runs_once_the_claim_is_abandoned(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    body = incident_body(api)
    # what a process that died mid-work leaves: its claim, and none of its work
    records.claim(
        db,
        records.KeyScope(hash_key(api.key), "/v1/incidents", KEY),
        fingerprint=records.fingerprint_of("/v1/incidents", "", body),
        now=clock(),
        ttl=timedelta(hours=24),
        server_key=b"unused: nothing is stored yet",
    )

    soon = post(api, body)
    assert soon.status_code == 409
    assert soon.headers["retry-after"] == "1"
    assert incidents(db) == 0

    clock.advance(minutes=3)
    ran = post(api, body)
    again = post(api, body)

    assert ran.status_code == 201
    assert again.content == ran.content
    assert again.headers["idempotent-replayed"] == "true"
    assert incidents(db) == 1


def commit_work(db: Database, *, holding: uuid.UUID | None, slug: str) -> None:
    """Some work (a tenant) in a unit of work that marks the claim ``holding``, as a request's."""
    assert holding is not None
    with db.unit_of_work() as session:
        ensure_tenant(session, slug=slug)
        pending = records.PendingClaim(holding)
        mark = partial(records.mark_committed, session, pending, status=201, headers={})
        before_commit(session, mark)


def test_a_claim_taken_over_by_a_retry_cannot_commit_its_work(
    db: Database, clock: FakeClock
) -> None:
    scope = records.KeyScope(hash_key("rt_some_key"), "/v1/parcels", KEY)
    claim = partial(records.claim, db, scope, fingerprint="f" * 64, ttl=timedelta(hours=24))
    slow = claim(now=clock(), server_key=b"k")
    retry = claim(now=clock.advance(minutes=3), server_key=b"k")
    assert (slow.outcome, retry.outcome) == ("run", "run")
    assert slow.record_id != retry.record_id

    with pytest.raises(records.ClaimTakenOver):
        commit_work(db, holding=slow.record_id, slug="work-of-the-slow-attempt")

    with db.session() as session:
        assert (
            session.exec(select(Tenant).where(Tenant.slug == "work-of-the-slow-attempt")).all()
            == []
        )
        assert session.get(IdempotencyRecord, retry.record_id) is not None


def test_work_whose_key_cannot_be_marked_is_rolled_back_not_answered_as_done(
    api: ApiClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = incident_body(api)

    def taken_over(*_: object, **__: object) -> None:
        raise records.ClaimTakenOver("a retry took this key over")

    monkeypatch.setattr(marking, "mark_committed", taken_over)
    response = post(api, body)

    assert response.status_code == 409
    assert response.json()["type"].endswith("idempotency-key-taken-over")
    assert incidents(db) == 0


def test_an_answer_sealed_under_another_server_key_is_named_lost_not_run_again(
    api: ApiClient, db: Database, clock: FakeClock, settings: Settings
) -> None:
    body = incident_body(api)
    first = post(api, body)
    rekeyed = settings.model_copy(update={"secret_key": SecretStr("another-server-key-" * 3)})

    with TestClient(create_app(rekeyed, database=db, clock=clock)) as client:
        again = ApiClient(client, api.key)
        response = post(again, body)

    assert response.status_code == 409
    assert response.json()["type"].endswith("idempotency-answer-lost")
    assert "RT_SECRET_KEY" in response.json()["detail"]
    assert response.json()["location"] == first.headers["location"]
    assert incidents(db) == 1
