"""Only an authenticated, authorised caller's key is kept; answers of handled errors replay."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import func, select
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.api.authentication import Authenticator
from app.api.idempotency.middleware import IdempotencyMiddleware
from app.core.models import IdempotencyRecord
from app.core.tenancy import Principal, hash_key
from app.db.engine import Database
from tests.factories import ApiClient, FakeClock, new_api_key, parcel_payload


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the service sends while the test runs."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield sent
    event.remove(db.engine, "before_cursor_execute", note)


def records(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(IdempotencyRecord)).one()


@pytest.mark.parametrize(
    "authorization", ["Bearer rt_not_a_key_we_issued", "Basic dXNlcjpwYXNz", None]
)
def test_an_unauthenticated_post_with_a_key_does_no_bookkeeping(
    client: TestClient, statements: list[str], authorization: str | None
) -> None:
    headers = {"Idempotency-Key": "attacker-1"}
    if authorization:
        headers["Authorization"] = authorization

    response = client.post("/v1/parcels", json=parcel_payload(), headers=headers)

    assert response.status_code == 401
    assert [s for s in statements if "idempotency_keys" in s] == []


def test_a_key_without_the_scope_leaves_no_record(
    client: TestClient, db: Database, statements: list[str]
) -> None:
    reader = ApiClient(client, new_api_key(db, tenant="acme", name="bi", scopes=("read",)))

    response = reader.post(
        "/v1/parcels", json=parcel_payload(), headers={"Idempotency-Key": "bi-1"}
    )

    assert response.status_code == 403
    assert records(db) == 0


def test_a_refused_body_is_kept_and_replayed(api: ApiClient, db: Database) -> None:
    headers = {"Idempotency-Key": "broken-export-1"}
    body = parcel_payload(currency="euros")

    first = api.post("/v1/parcels", json=body, headers=headers)
    again = api.post("/v1/parcels", json=body, headers=headers)

    assert first.status_code == again.status_code == 422
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert records(db) == 1


def test_a_body_over_a_mebibyte_streams_on_to_its_route_unrecorded(
    api: ApiClient, db: Database
) -> None:
    header = "Order ID,Tracking number,Carrier,Type,Description\n"
    rows = "".join(f"SO-{n:07d},,ups,delay,{'x' * 40}\n" for n in range(20_000))
    sheet = (header + rows).encode()
    assert len(sheet) > 1024 * 1024
    headers = {"Idempotency-Key": "sheet-1", "Content-Type": "text/csv"}

    response = api.post("/v1/incidents/import", content=sheet, headers=headers)

    assert response.status_code in (200, 413, 422), response.text[:300]
    assert "idempotent-replayed" not in response.headers
    assert records(db) == 0


def test_the_caller_authenticated_in_front_is_used_without_a_lookup(
    db: Database, clock: FakeClock, statements: list[str]
) -> None:
    """The authentication in front of this middleware leaves the caller in the scope's state;
    a route outside any unit of work has its answer stored after it returns."""
    runs: list[bytes] = []

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        runs.append((await receive())["body"])
        await JSONResponse({"run": len(runs)}, status_code=201)(scope, receive, send)

    keyed = IdempotencyMiddleware(
        route,
        database=db,
        authenticator=Authenticator(db, remember_seconds=0, clock=clock),
        ttl_hours=24,
        clock=clock,
        server_key=lambda: b"server-key",
    )

    async def authenticated(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = {"principal": PRINCIPAL}
        await keyed(scope, receive, send)

    client = TestClient(authenticated)  # no lifespan: the route answers requests only
    first = client.post("/v1/jobs", content=b"{}", headers={"Idempotency-Key": "job-1"})
    again = client.post("/v1/jobs", content=b"{}", headers={"Idempotency-Key": "job-1"})

    assert (first.status_code, first.json(), runs) == (201, {"run": 1}, [b"{}"])
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert [s for s in statements if "api_keys" in s] == []


PRINCIPAL = Principal(
    tenant_id=uuid.uuid4(),
    tenant_slug="acme",
    api_key_id=uuid.uuid4(),
    key_name="storefront",
    key_hash=hash_key("rt_storefront"),
    scopes=frozenset({"incidents:write"}),
)
