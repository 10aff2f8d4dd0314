"""Owners on the desk: Anna takes an incident and finds it in Mine; the API's timeline and its
``assignee=`` filter say the same; a supervisor sees escalations nobody owns."""

from __future__ import annotations

from typing import Any

from app.db.engine import Database
from app.people.models import User
from app.people.service import disable_user
from tests.desk.conftest import DeskClient, add_person
from tests.factories import UPS_NUMBERS, ApiClient, open_incident, register_parcel
from tests.jobs import events


def _incident(api: ApiClient, **parcel: Any) -> dict[str, Any]:
    found = register_parcel(api, **parcel)
    answer = open_incident(api, found["id"])
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _listed(desk: DeskClient, view: str) -> str:
    """The chosen view's list only (not the 'needs someone now' sections above it)."""
    page = desk.get(f"/desk/?view={view}")
    assert page.status_code == 200, page.text
    return page.text.split('id="list-h"', 1)[1]


def _entries(api: ApiClient, incident_id: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/incidents/{incident_id}/timeline").json()["items"]
    return [item for item in items if item["item"] == "entry"]


def _owner_url(incident: dict[str, Any]) -> str:
    return f"/desk/incidents/{incident['id']}/assignee"


def test_taking_an_incident_moves_it_from_unassigned_to_mine(
    desk: DeskClient, api: ApiClient, agent: User
):
    incident = _incident(api)
    assert incident["number"] in _listed(desk, "unassigned")
    assert incident["number"] not in _listed(desk, "mine")

    page = desk.get(f"/desk/incidents/{incident['id']}").text
    assert 'id="take-form"' in page
    taken = desk.post(_owner_url(incident), {"assignee": str(agent.id)})
    assert taken.status_code == 303
    assert taken.headers["location"] == f"/desk/incidents/{incident['id']}"

    mine = _listed(desk, "mine")
    assert incident["number"] in mine
    assert "<td>Anna Agent</td>" in mine  # the owner column
    assert incident["number"] not in _listed(desk, "unassigned")
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    assert "<dt>Owner</dt><dd>Anna Agent &lt;anna@acme.example&gt;</dd>" in page
    assert 'id="take-form"' not in page  # already hers


def test_the_desk_writes_what_the_api_writes_and_the_api_finds_it(
    desk: DeskClient, api: ApiClient, agent: User, db: Database
):
    on_desk = _incident(api)
    by_api = _incident(api, order_id="SO-20001", tracking_number=UPS_NUMBERS[1])
    desk.post(_owner_url(on_desk), {"assignee": str(agent.id)})
    patched = api.patch(
        f"/v1/incidents/{by_api['id']}",
        json={"assignee": agent.email},
        headers={"If-Match": api.get(f"/v1/incidents/{by_api['id']}").headers["etag"]},
    )
    assert patched.status_code == 200, patched.text

    desk_entry = _entries(api, on_desk["id"])[-1]
    api_entry = _entries(api, by_api["id"])[-1]
    assert desk_entry["kind"] == api_entry["kind"] == "assigned"
    assert desk_entry["summary"] == api_entry["summary"] == "Assigned to Anna Agent"
    assert desk_entry["data"] == api_entry["data"]
    assert desk_entry["actor"] == {"type": "user", "id": str(agent.id), "name": "Anna Agent"}
    assert api_entry["actor"]["type"] == "api_key"
    assigned = events(db, "incident.assigned")
    by = {e["incident_id"]: e["payload"]["assignment"]["by"] for e in assigned}
    assert by[on_desk["id"]] == desk_entry["actor"]
    assert by[by_api["id"]] == api_entry["actor"]

    found = api.get("/v1/incidents", params={"assignee": agent.email}).json()["items"]
    assert sorted(i["id"] for i in found) == sorted([on_desk["id"], by_api["id"]])
    assert found[0]["assignee"] == {"id": str(agent.id), "name": "Anna Agent", "email": agent.email}


def test_assigning_nobody_unassigns(desk: DeskClient, api: ApiClient, agent: User):
    incident = _incident(api)
    desk.post(_owner_url(incident), {"assignee": str(agent.id)})
    answer = desk.post(_owner_url(incident), {"assignee": ""})
    assert answer.status_code == 303
    last = _entries(api, incident["id"])[-1]
    assert (last["kind"], last["summary"]) == ("unassigned", "Unassigned (was Anna Agent)")
    assert api.get(f"/v1/incidents/{incident['id']}").json()["assignee"] is None
    unowned = api.get("/v1/incidents", params={"assignee": "none"}).json()["items"]
    assert [i["id"] for i in unowned] == [incident["id"]]
    assert incident["number"] in _listed(desk, "unassigned")
    assert incident["number"] not in _listed(desk, "mine")


def test_the_select_offers_the_tenants_active_people_only(
    desk: DeskClient, api: ApiClient, db: Database
):
    incident = _incident(api)
    add_person(db, email="bo@acme.example", name="Bo Busy")
    gone = add_person(db, email="gone@acme.example", name="Gone Away")
    add_person(db, email="zed@globex.example", name="Zed Globex", tenant="globex")
    with db.session() as session:
        disable_user(session, session.get(User, gone.id), now=gone.created_at)  # type: ignore[arg-type]
        session.commit()
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    owners = page.split('id="o-assignee"', 1)[1].split("</select>", 1)[0]
    assert ">nobody</option>" in owners
    assert "Anna Agent (anna@acme.example)" in owners
    assert "Bo Busy (bo@acme.example)" in owners
    assert "Gone Away" not in owners
    assert "Zed Globex" not in owners


def test_another_tenants_or_a_disabled_person_is_refused_with_a_page(
    desk: DeskClient, api: ApiClient, db: Database
):
    incident = _incident(api)
    stranger = add_person(db, email="zed@globex.example", name="Zed Globex", tenant="globex")
    gone = add_person(db, email="gone@acme.example", name="Gone Away")
    with db.session() as session:
        disable_user(session, session.get(User, gone.id), now=gone.created_at)  # type: ignore[arg-type]
        session.commit()

    refused = desk.post(_owner_url(incident), {"assignee": str(stranger.id)})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "is not a user of this tenant" in refused.text
    disabled = desk.post(_owner_url(incident), {"assignee": str(gone.id)})
    assert disabled.status_code == 422
    assert "disabled and cannot own incidents" in disabled.text
    assert api.get(f"/v1/incidents/{incident['id']}").json()["assignee"] is None
    assert [e["kind"] for e in _entries(api, incident["id"])] == ["opened"]


def test_a_supervisor_sees_escalations_nobody_owns_and_an_agent_does_not(
    desk: DeskClient, supervisor_desk: DeskClient, api: ApiClient, agent: User
):
    calm = _incident(api)
    hot = _incident(api, order_id="SO-20001", tracking_number=UPS_NUMBERS[1])
    escalated = api.post(f"/v1/incidents/{hot['id']}/transitions", json={"to": "escalated"})
    assert escalated.status_code == 200, escalated.text
    heading = "Escalated, nobody owns them (1)"

    queue = supervisor_desk.get("/desk/").text
    assert heading in queue
    section = queue.split(heading, 1)[1].split("</section>", 1)[0]
    assert hot["number"] in section
    assert calm["number"] not in section
    assert "Escalated, nobody owns them" not in desk.get("/desk/").text

    supervisor_desk.post(_owner_url(hot), {"assignee": str(agent.id)})
    assert "Escalated, nobody owns them" not in supervisor_desk.get("/desk/").text
