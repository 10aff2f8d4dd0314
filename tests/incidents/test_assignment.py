"""An incident's owner: set through PATCH by id or e-mail, or by the desk's service call;
refused for anyone who cannot own it; every change on the timeline and as an event."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from app.core.actors import Actor
from app.core.errors import ValidationFailed
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents import assignment, service
from app.outbox.models import Event
from app.people import passwords
from app.people.models import User
from app.people.service import create_user, disable_user
from app.webhooks.dispatch.payloads import event_body
from app.webhooks.examples import example_body
from tests.factories import START, ApiClient, FakeClock, open_incident, register_parcel
from tests.jobs import events


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its smallest cost: these tests create people, they do not sign them in."""
    monkeypatch.setattr(
        passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def new_user(db: Database, *, tenant: str, email: str, name: str, disabled: bool = False) -> str:
    with db.session() as session:
        user = create_user(
            session,
            tenant=ensure_tenant(session, slug=tenant),
            email=email,
            display_name=name,
            role="agent",
            password="a long and private passphrase",
            password_min_length=12,
            now=START,
        )
        if disabled:
            disable_user(session, user, now=START)
        session.commit()
        return str(user.id)


def patch(api: ApiClient, incident_id: str, body: dict[str, Any]) -> Any:
    url = f"/v1/incidents/{incident_id}"
    etag = api.get(url).headers["etag"]
    return api.patch(url, json=body, headers={"If-Match": etag})


def entries(api: ApiClient, incident_id: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/incidents/{incident_id}/timeline").json()["items"]
    return [item for item in items if item["item"] == "entry"]


@pytest.fixture
def incident(api: ApiClient) -> dict[str, Any]:
    return open_incident(api, register_parcel(api)["id"]).json()  # type: ignore[no-any-return]


def test_assigned_by_email_then_by_id_then_unassigned(
    api: ApiClient, db: Database, clock: FakeClock, incident: dict[str, Any]
) -> None:
    anna = new_user(db, tenant="acme", email="anna@shop.example", name="Anna Berg")
    sam = new_user(db, tenant="acme", email="sam@shop.example", name="Sam Ortiz")

    by_email = patch(api, incident["id"], {"assignee": "Anna@Shop.Example"})
    clock.advance(minutes=1)
    by_id = patch(api, incident["id"], {"assignee": sam, "description": "Still not moving"})
    clock.advance(minutes=1)
    nobody = patch(api, incident["id"], {"assignee": None})

    assert by_email.status_code == 200, by_email.text
    assert by_email.json()["assignee"] == {
        "id": anna,
        "name": "Anna Berg",
        "email": "anna@shop.example",
    }
    assert by_id.json()["assignee"]["name"] == "Sam Ortiz"
    assert by_id.json()["description"] == "Still not moving"
    assert nobody.json()["assignee"] is None
    assert api.get(f"/v1/incidents/{incident['id']}").json()["assignee"] is None
    logged = [(e["kind"], e["summary"]) for e in entries(api, incident["id"])][1:]
    assert logged == [
        ("assigned", "Assigned to Anna Berg"),
        ("updated", "Updated description"),
        ("assigned", "Assigned to Sam Ortiz (was Anna Berg)"),
        ("unassigned", "Unassigned (was Sam Ortiz)"),
    ]
    assert [e["payload"]["assignment"]["to"] for e in events(db, "incident.assigned")] == [
        {"id": anna, "name": "Anna Berg", "email": "anna@shop.example"},
        {"id": sam, "name": "Sam Ortiz", "email": "sam@shop.example"},
        None,
    ]
    assert api.get(f"/v1/incidents/{incident['id']}/timeline/verify").json()["valid"] is True


def test_the_same_owner_again_changes_nothing(
    api: ApiClient, db: Database, incident: dict[str, Any]
) -> None:
    new_user(db, tenant="acme", email="anna@shop.example", name="Anna Berg")
    first = patch(api, incident["id"], {"assignee": "anna@shop.example"})
    again = patch(api, incident["id"], {"assignee": "anna@shop.example"})

    assert again.json()["version"] == first.json()["version"]
    assert len(events(db, "incident.assigned")) == 1


@pytest.mark.parametrize("who", ["other tenant by id", "other tenant by e-mail", "disabled",
                                 "unknown", "unknown id", "not an e-mail"])  # fmt: skip
def test_who_cannot_own_an_incident_is_a_422_naming_assignee(
    api: ApiClient, db: Database, incident: dict[str, Any], who: str
) -> None:
    stranger = new_user(db, tenant="globex", email="gil@globex.example", name="Gil")
    gone = new_user(db, tenant="acme", email="olaf@shop.example", name="Olaf", disabled=True)
    ref = {
        "other tenant by id": stranger,
        "other tenant by e-mail": "gil@globex.example",
        "disabled": gone,
        "unknown": "nobody@shop.example",
        "unknown id": str(uuid.uuid4()),
        "not an e-mail": "anna",
    }[who]

    refused = patch(api, incident["id"], {"assignee": ref, "description": "changed"})

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["assignee"]
    after = api.get(f"/v1/incidents/{incident['id']}").json()
    assert (after["version"], after["description"]) == (
        incident["version"],
        incident["description"],
    )
    assert events(db, "incident.assigned") == []


def test_the_desk_assigns_through_the_service_as_a_person(
    api: ApiClient, db: Database, clock: FakeClock, incident: dict[str, Any]
) -> None:
    sam = new_user(db, tenant="acme", email="sam@shop.example", name="Sam Ortiz")
    anna = new_user(db, tenant="acme", email="anna@shop.example", name="Anna Berg")
    with db.unit_of_work() as session:
        supervisor = session.get(User, uuid.UUID(sam))
        owner = session.get(User, uuid.UUID(anna))
        assert supervisor is not None
        found = service.get_incident(
            session, tenant_id=supervisor.tenant_id, incident_id=uuid.UUID(incident["id"]),
            lock=True,
        )  # fmt: skip
        assignment.assign(session, found, owner, Actor.user(supervisor), clock.now)

    last = entries(api, incident["id"])[-1]
    assert last["actor"] == {"type": "user", "id": sam, "name": "Sam Ortiz"}
    assert last["summary"] == "Assigned to Anna Berg"
    [event] = events(db, "incident.assigned")
    assert event["payload"]["assignment"]["by"] == {"type": "user", "id": sam, "name": "Sam Ortiz"}


def test_the_service_refuses_a_disabled_owner(
    db: Database, api: ApiClient, clock: FakeClock, incident: dict[str, Any]
) -> None:
    gone = new_user(db, tenant="acme", email="olaf@shop.example", name="Olaf", disabled=True)
    with db.unit_of_work() as session:
        owner = session.get(User, uuid.UUID(gone))
        found = service.get_incident(
            session, tenant_id=owner.tenant_id if owner else uuid.uuid4(),
            incident_id=uuid.UUID(incident["id"]),
        )  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            assignment.assign(session, found, owner, Actor.system(), clock.now)

    assert (
        refused.value.detail == "assignee: olaf@shop.example is disabled and cannot own incidents"
    )


def test_the_assigned_example_has_the_keys_of_the_real_event(
    api: ApiClient, db: Database, incident: dict[str, Any]
) -> None:
    new_user(db, tenant="acme", email="anna@shop.example", name="Anna Berg")
    patch(api, incident["id"], {"assignee": "anna@shop.example"})
    with db.session() as session:
        real = session.exec(select(Event).where(Event.type == "incident.assigned")).one()
        sent = json.loads(event_body(real, base_url="https://tracker.example.com"))["data"]
    example = example_body("incident.assigned")["data"]

    assert set(sent) == set(example)
    assert set(sent["assignment"]) == set(example["assignment"]) == {"from", "to", "by"}
    assert set(sent["incident"]["assignee"]) == set(example["incident"]["assignee"])
