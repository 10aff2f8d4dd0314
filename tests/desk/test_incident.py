"""A damaged parcel worked from first report to resolution on the desk, by an agent and a
supervisor; every step writes what its API twin writes, and the API's timeline names them."""

from __future__ import annotations

import re
from typing import Any

from app.db.engine import Database
from tests.desk.conftest import DeskClient
from tests.desk.images import small_png
from tests.factories import ApiClient, open_incident, register_parcel


def _incident(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    parcel = register_parcel(api, **overrides)
    answer = open_incident(api, parcel["id"], type="damaged", description="Box arrived crushed")
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _timeline(api: ApiClient, incident_id: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/incidents/{incident_id}/timeline").json()["items"]
    return [item for item in items if item["item"] == "entry"]


def test_the_page_shows_the_number_row_and_merged_timeline(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    page = desk.get(f"/desk/incidents/{incident['id']}")
    assert page.status_code == 200
    assert re.search(r"<h1>INC-\d{6}", page.text)
    assert incident["number"] in page.text
    assert "SO-10023" in page.text
    assert "Maria Schmidt" in page.text
    assert "agent-anna" in page.text  # the API key that opened it, on the timeline
    assert "intact" in page.text  # the hash chain check


def test_only_the_allowed_moves_are_offered(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    offered = re.search(r'<select id="s-to" name="to">(.*?)</select>', page, re.S)
    assert offered is not None
    values = re.findall(r'value="(\w+)"', offered.group(1))
    assert values == sorted(
        ["in_progress", "awaiting_customer", "awaiting_carrier", "escalated", "resolved"]
    )
    refused = desk.post(f"/desk/incidents/{incident['id']}/status", {"to": "open"})
    assert refused.status_code == 409
    assert "cannot become open" in refused.text


def test_a_logged_action_is_the_same_entry_the_api_writes_named_for_the_person(
    desk: DeskClient, api: ApiClient
):
    incident = _incident(api)
    answer = desk.post(
        f"/desk/incidents/{incident['id']}/actions",
        {"kind": "carrier_contacted", "text": "Asked UPS for a damage report"},
    )
    assert answer.status_code == 303
    last = _timeline(api, incident["id"])[-1]
    assert last["kind"] == "carrier_contacted"
    assert (last["actor"]["type"], last["actor"]["name"]) == ("user", "Anna Agent")
    assert last["summary"] == "Asked UPS for a damage report"


def test_a_stale_page_cannot_overwrite_the_next_step(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    url = f"/desk/incidents/{incident['id']}/next-step"
    step = {"action": "Call the customer", "due_at": "2026-03-13T10:00"}
    assert desk.post(url, {**step, "version": incident["version"]}).status_code == 303
    stale = desk.post(url, {**step, "action": "Other", "version": incident["version"]})
    assert stale.status_code == 412
    fresh = api.get(f"/v1/incidents/{incident['id']}").json()
    assert fresh["next_step"]["action"] == "Call the customer"
    assert fresh["next_step"]["due_at"] == "2026-03-13T10:00:00Z"  # desk time zone: UTC


def test_the_preview_renders_the_template_and_stores_nothing(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    answer = desk.post(
        f"/desk/incidents/{incident['id']}/messages/preview",
        {
            "template_key": "delay_notice",
            "language": "en",
            "param_delay_notice_reason": "peak_season",
            "param_evidence_request_problem": "ignored: another template's field",
        },
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text  # a fragment for htmx to swap in
    assert incident["tracking_number"] in answer.text
    assert "Maria" in answer.text
    assert len(_timeline(api, incident["id"])) == 1


def test_a_preview_missing_a_parameter_says_which(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    answer = desk.post(
        f"/desk/incidents/{incident['id']}/messages/preview",
        {"template_key": "evidence_request", "language": "en"},
    )
    assert answer.status_code == 200  # htmx swaps it in where the preview goes
    assert "problem: required by evidence_request" in answer.text


def test_a_photo_upload_is_stored_checked_and_shown_as_a_thumbnail(
    desk: DeskClient, api: ApiClient
):
    incident = _incident(api)
    answer = desk.client.post(
        f"/desk/incidents/{incident['id']}/evidence",
        data={"csrf_token": desk.csrf, "kind": "photo", "description": "Crushed corner"},
        files={"file": ("corner.png", small_png(), "image/png")},
    )
    assert answer.status_code == 303, answer.text
    listed = api.get(f"/v1/incidents/{incident['id']}/evidence").json()["items"]
    assert [(e["file_name"], e["uploaded_by"]["name"]) for e in listed] == [
        ("corner.png", "Anna Agent")
    ]
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    thumb = f"/desk/incidents/{incident['id']}/evidence/{listed[0]['id']}/content"
    assert f'<img src="{thumb}"' in page
    image = desk.get(thumb)
    assert image.status_code == 200
    assert image.content == small_png()
    assert image.headers["content-type"] == "image/png"


def test_a_file_that_is_not_a_photo_is_refused(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    answer = desk.client.post(
        f"/desk/incidents/{incident['id']}/evidence",
        data={"csrf_token": desk.csrf},
        files={"file": ("photo.png", b"MZ\x90\x00 not an image at all" * 10, "image/png")},
    )
    assert answer.status_code == 415
    assert api.get(f"/v1/incidents/{incident['id']}/evidence").json()["items"] == []


def test_the_evidence_pack_downloads_with_the_session_cookie(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    pdf = desk.get(f"/desk/incidents/{incident['id']}/evidence-pack.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    archive = desk.get(f"/desk/incidents/{incident['id']}/evidence-pack.zip")
    assert archive.status_code == 200
    assert archive.content.startswith(b"PK")


def test_another_tenants_incident_is_not_found(desk: DeskClient, other_api: ApiClient):
    theirs = _incident(other_api)
    assert desk.get(f"/desk/incidents/{theirs['id']}").status_code == 404


def _work_to_approval(desk: DeskClient, incident_id: str) -> None:
    base = f"/desk/incidents/{incident_id}/process"
    for url, form in (
        ("/assessment", {"substantiated": "true", "reason": "Photos show a crushed box"}),
        ("/department", {"department": "Logistics"}),
        ("/root-cause", {"root_cause": "packaging"}),
        (
            "/proposal",
            {"solution": "Full refund", "kind": "refund", "amount": "59.90", "currency": "EUR"},
        ),
    ):
        answer = desk.post(base + url, form)
        assert answer.status_code == 303, (url, answer.text)


def test_an_agent_sees_no_approve_button_and_cannot_approve(desk: DeskClient, api: ApiClient):
    incident = _incident(api)
    _work_to_approval(desk, incident["id"])
    page = desk.get(f"/desk/incidents/{incident['id']}").text
    assert "Waiting for a supervisor" in page
    assert "refund 59.90 EUR" in page  # in the currency's minor units, as the API writes it
    assert ">Approve<" not in page
    refused = desk.post(
        f"/desk/incidents/{incident['id']}/process/decision", {"decision": "approve"}
    )
    assert refused.status_code == 403
    assert api.get(f"/v1/incidents/{incident['id']}/process").json()["step"] == "approval"


def test_a_supervisor_approves_and_the_agent_resolves(
    desk: DeskClient, supervisor_desk: DeskClient, api: ApiClient, db: Database
):
    incident = _incident(api)
    _work_to_approval(desk, incident["id"])
    queue = supervisor_desk.get("/desk/").text
    assert "Approvals waiting (1)" in queue
    page = supervisor_desk.get(f"/desk/incidents/{incident['id']}").text
    assert ">Approve<" in page
    approved = supervisor_desk.post(
        f"/desk/incidents/{incident['id']}/process/decision",
        {"decision": "approve", "note": "Photos are clear"},
    )
    assert approved.status_code == 303
    told = desk.post(
        f"/desk/incidents/{incident['id']}/messages",
        {"channel": "email", "text": "We refunded 59.90 EUR; sorry for the damage."},
    )
    assert told.status_code == 303
    message_id = api.get(f"/v1/incidents/{incident['id']}/messages").json()["items"][0]["id"]
    done = desk.post(
        f"/desk/incidents/{incident['id']}/process/execution",
        {"resolution": "refunded", "summary": "Refunded via PayPal", "message_id": message_id},
    )
    assert done.status_code == 303, done.text
    final = api.get(f"/v1/incidents/{incident['id']}").json()
    assert final["status"] == "resolved"
    assert final["resolution"] == "refunded"
    actors = {(e["kind"], e["actor"]["name"]) for e in _timeline(api, incident["id"])}
    assert ("compensation_approved", "Sven Supervisor") in actors
    assert ("solution_proposed", "Anna Agent") in actors
    assert ("message_sent", "Anna Agent") in actors
    assert ("status_changed", "Anna Agent") in actors
    assert api.get(f"/v1/incidents/{incident['id']}/timeline/verify").json()["valid"] is True
