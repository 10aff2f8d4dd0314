"""GET /v1/incidents?assignee=<e-mail> and assignee=none: mine, somebody's, nobody's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from argon2 import PasswordHasher

from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.people import passwords
from app.people.service import create_user
from tests.factories import START, ApiClient, FakeClock, open_incident, register_parcel


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def new_user(db: Database, *, tenant: str, email: str, name: str) -> str:
    with db.session() as session:
        user = create_user(
            session, tenant=ensure_tenant(session, slug=tenant), email=email, display_name=name,
            role="agent", password="a long and private passphrase", password_min_length=12,
            now=START,
        )  # fmt: skip
        session.commit()
        return str(user.id)


def assign(api: ApiClient, incident_id: str, assignee: str | None) -> None:
    url = f"/v1/incidents/{incident_id}"
    etag = api.get(url).headers["etag"]
    response = api.patch(url, json={"assignee": assignee}, headers={"If-Match": etag})
    assert response.status_code == 200, response.text


def ids(api: ApiClient, **params: Any) -> list[str]:
    response = api.get("/v1/incidents", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def desk(api: ApiClient, db: Database, clock: FakeClock) -> dict[str, str]:
    """Anna owns two incidents (one escalated), Sam one; the fourth is nobody's."""
    new_user(db, tenant="acme", email="anna@shop.example", name="Anna Berg")
    new_user(db, tenant="acme", email="sam@shop.example", name="Sam Ortiz")
    made = {}
    for key in ("anna_1", "anna_2", "sam", "nobody"):
        number = f"SANDBOX-{key.replace('_', '-')}"
        parcel = register_parcel(api, order_id=f"SO-{key}", tracking_number=number,
                                 carrier="sandbox")  # fmt: skip
        made[key] = open_incident(api, parcel["id"]).json()["id"]
        clock.advance(minutes=10)
    assign(api, made["anna_1"], "anna@shop.example")
    assign(api, made["anna_2"], "anna@shop.example")
    assign(api, made["sam"], "sam@shop.example")
    api.post(f"/v1/incidents/{made['anna_2']}/transitions", json={"to": "escalated"})
    api.post(f"/v1/incidents/{made['nobody']}/transitions", json={"to": "escalated"})
    return made


def test_by_owner_any_case_and_nobodys(api: ApiClient, desk: dict[str, str]) -> None:
    assert ids(api, assignee="ANNA@shop.example") == [desk["anna_2"], desk["anna_1"]]
    assert ids(api, assignee="sam@shop.example") == [desk["sam"]]
    assert ids(api, assignee="none") == [desk["nobody"]]
    assert ids(api, assignee="stranger@shop.example") == []


def test_the_supervisors_queue_is_nobodys_escalated_incidents(
    api: ApiClient, desk: dict[str, str]
) -> None:
    assert ids(api, assignee="none", status="escalated") == [desk["nobody"]]
    assert ids(api, assignee="anna@shop.example", status="escalated") == [desk["anna_2"]]


def test_another_tenants_user_of_the_same_e_mail_owns_nothing_here(
    api: ApiClient, other_api: ApiClient, db: Database, desk: dict[str, str]
) -> None:
    new_user(db, tenant="globex", email="anna@shop.example", name="Anna at Globex")

    assert ids(other_api, assignee="anna@shop.example") == []
    assert len(ids(api, assignee="anna@shop.example")) == 2


def test_the_owner_filter_is_bound_into_the_page_token(
    api: ApiClient, desk: dict[str, str]
) -> None:
    first = api.get("/v1/incidents", params={"assignee": "anna@shop.example", "page_size": 1})
    token = first.json()["next_page_token"]

    second = api.get("/v1/incidents", params={"assignee": "anna@shop.example",
                                              "page_size": 1, "page_token": token})  # fmt: skip
    switched = api.get("/v1/incidents", params={"assignee": "none", "page_token": token})

    assert [i["id"] for i in second.json()["items"]] == [desk["anna_1"]]
    assert second.json()["next_page_token"] is None
    assert switched.status_code == 400
    assert switched.json()["errors"][0]["field"] == "page_token"


@pytest.mark.parametrize("value", ["anna", "", "x" * 321])
def test_an_owner_that_is_not_an_e_mail_is_a_422(api: ApiClient, value: str) -> None:
    response = api.get("/v1/incidents", params={"assignee": value})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "assignee"


def test_a_misspelt_owner_parameter_is_refused_and_the_right_one_named(api: ApiClient) -> None:
    response = api.get("/v1/incidents", params={"asignee": "none"})

    assert response.status_code == 400
    assert "did you mean 'assignee'" in response.json()["detail"]


def test_the_export_takes_the_owner_filter(api: ApiClient, desk: dict[str, str]) -> None:
    exported = api.get("/v1/incidents/export", params={"format": "csv", "assignee": "none"})

    assert exported.status_code == 200, exported.text
    assert str(uuid.UUID(desk["nobody"])) in exported.text
    assert desk["sam"] not in exported.text
