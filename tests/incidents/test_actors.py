"""Who did it, wherever it shows: the API's timeline, the export, the dispute pack, the jobs."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from typing import Any

import pytest
from argon2 import PasswordHasher
from pypdf import PdfReader
from sqlmodel import select

from app.core.actors import Actor
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents import service
from app.incidents.models import TimelineEntry
from app.incidents.schemas import ActionCreate
from app.people import passwords
from app.people.models import User
from app.people.service import create_user
from app.tracker_sheet.importer import import_table
from app.tracker_sheet.reader import read_table
from tests.factories import START, ApiClient, FakeClock, open_incident, register_parcel
from tests.jobs import run_job


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def new_user(db: Database, *, email: str, name: str) -> User:
    with db.session() as session:
        user = create_user(
            session, tenant=ensure_tenant(session, slug="acme"), email=email, display_name=name,
            role="agent", password="a long and private passphrase", password_min_length=12,
            now=START,
        )  # fmt: skip
        session.commit()
        session.refresh(user)
        session.expunge(user)
        return user


def note_as(db: Database, person: User, incident_id: str, text: str, clock: FakeClock) -> None:
    """What the desk does when a person logs an action: the same service as the API."""
    with db.unit_of_work() as session:
        incident = service.get_incident(
            session, tenant_id=person.tenant_id, incident_id=uuid.UUID(incident_id), lock=True
        )
        service.log_action(
            session,
            incident=incident,
            body=ActionCreate(kind="carrier_contacted", text=text),
            actor=Actor.user(person),
            now=clock.now,
        )


def entries(api: ApiClient, incident_id: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/incidents/{incident_id}/timeline").json()["items"]
    return [item for item in items if item["item"] == "entry"]


def test_a_key_and_a_person_on_one_timeline(api: ApiClient, db: Database, clock: FakeClock) -> None:
    anna = new_user(db, email="anna@shop.example", name="Anna Berg")
    incident = open_incident(api, register_parcel(api)["id"]).json()
    note_as(db, anna, incident["id"], "Called UPS, trace opened", clock)

    opened, called = entries(api, incident["id"])

    assert opened["actor"]["type"] == "api_key"
    assert opened["actor"]["name"] == "agent-anna"
    assert uuid.UUID(opened["actor"]["id"])
    assert called["actor"] == {"type": "user", "id": str(anna.id), "name": "Anna Berg"}
    assert api.get(f"/v1/incidents/{incident['id']}/timeline/verify").json()["valid"] is True


def test_the_openapi_document_states_the_actor_object(api: ApiClient) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]

    assert schemas["ActorRead"]["properties"]["type"]["enum"] == ["user", "api_key", "system"]
    assert set(schemas["ActorRead"]["required"]) == {"type", "id", "name"}
    for name, field in [("TimelineEntryRead", "actor"), ("MessageRead", "actor"),
                        ("EvidenceRead", "uploaded_by"), ("ClaimRead", "created_by"),
                        ("ProposalRead", "proposed_by")]:  # fmt: skip
        assert "ActorRead" in str(schemas[name]["properties"][field]), name
    assert "AssigneeRead" in str(schemas["IncidentRead"]["properties"]["assignee"])


def _auto_incident(api: ApiClient, clock: FakeClock) -> dict[str, Any]:
    register_parcel(api, tracking_number="SANDBOX-STALLED-9", carrier=None, shipped_at=None)
    clock.advance(days=10)
    run_job(api, "poll")
    run_job(api, "detect-stuck")
    [incident] = api.get("/v1/incidents").json()["items"]
    return incident  # type: ignore[no-any-return]


def test_what_the_jobs_write_is_signed_by_the_system(ops: ApiClient, clock: FakeClock) -> None:
    incident = _auto_incident(ops, clock)
    clock.advance(days=3)
    run_job(ops, "overdue")

    written = entries(ops, incident["id"])

    assert [e["kind"] for e in written] == ["opened", "next_step_overdue", "status_changed",
                                            "next_step_set"]  # fmt: skip
    assert {tuple(e["actor"].items()) for e in written} == {
        (("type", "system"), ("id", None), ("name", "system"))
    }
    assert written[1]["summary"].endswith("(no owner)")


def test_an_escalation_names_the_owner_and_leaves_the_incident_theirs(
    ops: ApiClient, db: Database, clock: FakeClock
) -> None:
    incident = _auto_incident(ops, clock)
    new_user(db, email="anna@shop.example", name="Anna Berg")
    etag = ops.get(f"/v1/incidents/{incident['id']}").headers["etag"]
    ops.patch(
        f"/v1/incidents/{incident['id']}",
        json={"assignee": "anna@shop.example"},
        headers={"If-Match": etag},
    )
    clock.advance(days=3)

    counts = run_job(ops, "overdue")

    after = ops.get(f"/v1/incidents/{incident['id']}").json()
    written = {e["kind"]: e for e in entries(ops, incident["id"])}
    assert counts["escalated"] == 1
    assert after["status"] == "escalated"
    assert after["assignee"]["email"] == "anna@shop.example"  # not the supervisor's queue
    assert after["next_step"]["action"].startswith("Anna Berg: do the overdue step")
    assert "its owner, Anna Berg, has not picked" in written["status_changed"]["summary"]
    assert written["next_step_overdue"]["summary"].endswith("(owner: Anna Berg)")
    assert written["next_step_overdue"]["data"]["assignee"]["name"] == "Anna Berg"


def test_the_export_log_names_the_person_and_the_key(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    anna = new_user(db, email="anna@shop.example", name="Anna Berg")
    incident = open_incident(api, register_parcel(api)["id"]).json()
    clock.advance(minutes=5)
    note_as(db, anna, incident["id"], "Called UPS, trace opened", clock)

    exported = api.get("/v1/incidents/export", params={"format": "csv"})
    [row] = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))

    log = row["Internal Action Log"].splitlines()
    assert log[0].startswith("2026-03-12 09:30 UTC | agent-anna | opened |")
    assert log[1] == (
        "2026-03-12 09:35 UTC | Anna Berg | carrier_contacted | Called UPS, trace opened"
    )


def test_an_imported_log_line_keeps_a_name_it_cannot_place(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    anna = new_user(db, email="anna@shop.example", name="Anna Berg")
    incident = open_incident(api, register_parcel(api)["id"]).json()
    note_as(db, anna, incident["id"], "Called UPS", clock)
    exported = api.get("/v1/incidents/export", params={"format": "csv"}).content
    api.post(f"/v1/incidents/{incident['id']}/transitions",
             json={"to": "resolved", "resolution": "delivered"})  # fmt: skip

    with db.session() as session:  # a second shop, same people: import the sheet there
        other = ensure_tenant(session, slug="acme-archive")
        session.commit()
        other_id = other.id
    report = import_table(
        db, tenant_id=other_id, table=read_table(exported), dry_run=False,
        actor=Actor.system(), now=clock.now, default_next_step_hours=24,
    )  # fmt: skip
    assert report.imported == 1
    with db.session() as session:
        actors = {
            e.actor_name: e.actor
            for e in session.exec(select(TimelineEntry).where(TimelineEntry.tenant_id == other_id))
        }
    # the archive tenant has neither Anna nor the key: names kept, ids unknown
    assert actors["Anna Berg"] == Actor("api_key", None, "Anna Berg")
    assert actors["agent-anna"] == Actor("api_key", None, "agent-anna")


def test_the_dispute_pack_names_people_and_marks_keys(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    anna = new_user(db, email="anna@shop.example", name="Anna Berg")
    incident = open_incident(api, register_parcel(api)["id"]).json()
    note_as(db, anna, incident["id"], "Called UPS, trace opened", clock)

    pdf = api.get(f"/v1/incidents/{incident['id']}/evidence-pack")
    pack = api.get(f"/v1/incidents/{incident['id']}/evidence-pack", params={"format": "zip"})

    assert pdf.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    flat = "".join(text.split())
    assert "agent-anna(APIkey)" in flat
    assert "AnnaBerg" in flat
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        [name] = [n for n in archive.namelist() if n.endswith("incident.json")]
        exported = json.loads(archive.read(name))
    assert [e["actor"] for e in exported["timeline"]] == [
        {"type": "api_key", "id": opened_by(api, incident["id"]), "name": "agent-anna"},
        {"type": "user", "id": str(anna.id), "name": "Anna Berg"},
    ]


def opened_by(api: ApiClient, incident_id: str) -> str:
    return str(entries(api, incident_id)[0]["actor"]["id"])
