"""Plain helpers for tests: a settable clock, API keys, an authenticated client, payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlmodel import select

from app.core.models import ApiKey
from app.core.tenancy import SCOPES, ensure_tenant, hash_key, issue_key, revoke_key
from app.db.engine import Database

START = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)  # a Thursday

# Valid UPS 1Z numbers (check digit computed by the mod-10 rule in docs/carriers.md §3.6).
UPS_NUMBERS = ["1Z999AA10123456784", "1Z12345E6712345677"]


class FakeClock:
    """The service's clock in tests: fixed until a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def new_api_key(
    db: Database, *, tenant: str, name: str = "test-key", scopes: tuple[str, ...] = SCOPES
) -> str:
    with db.session() as session:
        issued = issue_key(
            session, tenant=ensure_tenant(session, slug=tenant), name=name, scopes=frozenset(scopes)
        )
        session.commit()
        return issued.secret


class ApiClient:
    """A TestClient that sends one tenant's API key on every call."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, url: str, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(url, headers=self._headers(headers), **kw)
        return response

    def post(self, url: str, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        response: httpx.Response = self.client.post(url, headers=self._headers(headers), **kw)
        return response

    def patch(
        self, url: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        response: httpx.Response = self.client.patch(url, headers=self._headers(headers), **kw)
        return response

    def put(self, url: str, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        response: httpx.Response = self.client.put(url, headers=self._headers(headers), **kw)
        return response

    def delete(
        self, url: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        response: httpx.Response = self.client.delete(url, headers=self._headers(headers), **kw)
        return response


def revoke_api_key(db: Database, secret: str) -> None:
    """Revoke a key the way the CLI does: from outside the service, in its own transaction."""
    with db.session() as session:
        key = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).one()
        revoke_key(session, key_id=key.id)
        session.commit()


def parcel_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "order_id": "SO-10023",
        "order_date": "2026-03-01",
        "tracking_number": UPS_NUMBERS[0],
        "carrier": "ups",
        "customer": {
            "name": "Maria Schmidt",
            "email": "maria.schmidt@example.com",
            "phone": "+49 30 901820",
            "locale": "de-DE",
            "ticket_ref": "ZD-4411",
        },
        "origin_country": "CN",
        "destination_country": "DE",
        "shipped_at": "2026-03-02T08:15:00+08:00",
        "declared_value": "59.90",
        "currency": "EUR",
    }
    payload.update(overrides)
    return payload


def register_parcel(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/parcels", json=parcel_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def open_incident(api: ApiClient, parcel_id: str, **overrides: Any) -> httpx.Response:
    body = {
        "type": "delay",
        "source": "customer",
        "parcel_id": parcel_id,
        "description": "Customer says the parcel has not moved for a week.",
    }
    body.update(overrides)
    return api.post("/v1/incidents", json=body)
