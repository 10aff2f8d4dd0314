"""The queue's sections, views and filters; search; the stuck-now list and its button."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.desk.conftest import DeskClient
from tests.factories import UPS_NUMBERS, ApiClient, FakeClock, open_incident, register_parcel


def _open(api: ApiClient, **parcel: Any) -> dict[str, Any]:
    found = register_parcel(api, **parcel)
    answer = open_incident(api, found["id"])
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_an_overdue_next_step_needs_someone_now(desk: DeskClient, api: ApiClient, clock, agent):
    late = _open(api)
    clock.advance(days=2)  # the default first step was due within a day
    desk.sign_in(agent.email)  # the session went idle meanwhile
    queue = desk.get("/desk/").text
    assert "Next step overdue or due today (1)" in queue
    assert late["number"] in queue
    assert "overdue" in queue


def test_views_and_filters_narrow_the_list(desk: DeskClient, api: ApiClient):
    german = _open(api)
    spanish = _open(
        api,
        order_id="SO-20001",
        tracking_number=UPS_NUMBERS[1],
        destination_country="ES",
        customer={"name": "Lucía Gómez", "email": "lucia@example.es"},
    )
    api.post(f"/v1/incidents/{spanish['id']}/transitions", json={"to": "awaiting_carrier"})
    waiting = desk.get("/desk/?view=awaiting_carrier").text
    assert spanish["number"] in waiting
    assert german["number"] not in waiting
    to_spain = desk.get("/desk/?view=open&destination_country=es").text
    assert spanish["number"] in to_spain
    assert german["number"] not in to_spain
    assert desk.get("/desk/?view=open&type=nonsense").status_code == 422


def test_the_list_pages_with_a_token_bound_to_its_filters(
    desk: DeskClient, api: ApiClient, clock: FakeClock
):
    parcel = register_parcel(api)
    numbers = []
    for _ in range(55):  # newest first: each opened a second after the one before
        clock.advance(seconds=1)
        numbers.append(open_incident(api, parcel["id"]).json()["number"])
    first = desk.get("/desk/").text
    assert numbers[-1] in first
    assert numbers[0] not in first
    token = first.split("page_token=")[1].split('"')[0]
    second = desk.get(f"/desk/?view=open&page_token={token}").text
    assert numbers[0] in second
    assert desk.get(f"/desk/?view=escalated&page_token={token}").status_code == 400


def test_search_by_order_goes_straight_to_the_one_incident(desk: DeskClient, api: ApiClient):
    incident = _open(api)
    answer = desk.get("/desk/search?q=so-10023")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/desk/incidents/{incident['id']}"


def test_search_finds_parcels_without_an_incident_too(desk: DeskClient, api: ApiClient):
    _open(api)
    register_parcel(
        api, order_id="SO-10099", tracking_number=UPS_NUMBERS[1], customer={"name": "Max Weber"}
    )
    found = desk.get("/desk/search?q=SO-100").text
    assert "SO-10023" in found
    assert "SO-10099" in found
    assert "Parcels without an incident (1)" in found
    assert "Nothing matches" in desk.get("/desk/search?q=zzzz-none").text


def test_a_stuck_parcel_is_listed_with_its_rule_and_opens_an_incident_in_one_click(
    desk: DeskClient, api: ApiClient, clock: FakeClock, agent
):
    parcel = register_parcel(api)
    clock.advance(days=30)
    desk.sign_in(agent.email)
    listed = desk.get("/desk/parcels?stuck=true").text
    assert "SO-10023" in listed
    assert "Open incident" in listed
    opened = desk.post(f"/desk/parcels/{parcel['id']}/incidents")
    assert opened.status_code == 303
    incident_id = opened.headers["location"].rsplit("/", 1)[1]
    incident = api.get(f"/v1/incidents/{incident_id}").json()
    assert incident["source"] == "agent"
    assert incident["type"] in ("lost", "delay")
    first = api.get(f"/v1/incidents/{incident_id}/timeline").json()["items"][0]
    assert (first["actor"]["type"], first["actor"]["name"]) == ("user", "Anna Agent")
    again = desk.post(f"/desk/parcels/{parcel['id']}/incidents")  # a double click
    assert again.headers["location"] == f"/desk/incidents/{incident_id}"
    assert "/desk/incidents/" + incident_id in desk.get("/desk/parcels?stuck=true").text


def test_an_incident_whose_parcel_has_a_scan_shows_it_with_its_age(
    desk: DeskClient, api: ApiClient, clock: FakeClock
):
    """Benchmark finding: the queue and the incident page were a 500 as soon as a parcel had
    a scan (the templates asked the last scan for a field it does not have)."""
    incident = _open(api)
    pushed = api.post(
        f"/v1/parcels/{incident['parcel_id']}/scans",
        json={
            "scans": [
                {
                    "status": "in_transit",
                    "occurred_at": (clock.now - timedelta(hours=5)).isoformat(),
                    "description": "Departed facility",
                }
            ]
        },
    )
    assert pushed.status_code in (200, 201), pushed.text

    queue = desk.get("/desk/")
    page = desk.get(f"/desk/incidents/{incident['id']}")

    assert queue.status_code == page.status_code == 200
    assert "in transit" in queue.text
    assert "5 h ago" in queue.text
    assert "(5 h ago)" in page.text
