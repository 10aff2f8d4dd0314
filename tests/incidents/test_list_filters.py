"""GET /v1/incidents: every filter narrows the list, any combination pages, nothing is ignored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import UPS_NUMBERS, ApiClient, FakeClock, open_incident, register_parcel


def customer(name: str, email: str, ticket: str | None = None) -> dict[str, Any]:
    return {"name": name, "email": email, "ticket_ref": ticket}


def incident_for(
    api: ApiClient,
    *,
    order_id: str,
    tracking_number: str,
    who: dict[str, Any] | None = None,
    **incident: Any,
) -> str:
    parcel = register_parcel(
        api,
        order_id=order_id,
        tracking_number=tracking_number,
        carrier="sandbox",
        customer=who or customer("Maria Schmidt", "maria.schmidt@example.com"),
    )
    response = open_incident(api, parcel["id"], **incident)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def ids(api: ApiClient, **params: Any) -> list[str]:
    response = api.get("/v1/incidents", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def shop(api: ApiClient, clock: FakeClock) -> dict[str, str]:
    """Four incidents of four orders, opened ten minutes apart (newest last)."""
    made = {}
    for key, order, number, who, extra in [
        ("maria", "SO-1001", "SANDBOX-A1", customer("Maria Schmidt", "Maria@Example.com", "ZD-1"),
         {"type": "delay", "description": "Parcel stuck in Leipzig hub"}),
        ("li", "SO-1002", "SANDBOX-B2", customer("Li Wei", "li.wei@example.org", "ZD-2"),
         {"type": "lost", "description": "50% of the order is missing"}),
        ("jose", "SO-1003", "SANDBOX-C3", customer("José Müller", "jose@example.net", "HS_77"),
         {"type": "damaged", "description": 'Box "crushed", customer\'s photo attached'}),
        ("ann", "SO-2000", "SANDBOX-D4", customer("Ann O'Neil", "ann@example.com", None),
         {"type": "delay", "description": "Path C:\\temp\\label.pdf unreadable"}),
    ]:  # fmt: skip
        made[key] = incident_for(api, order_id=order, tracking_number=number, who=who, **extra)
        clock.advance(minutes=10)
    return made


def test_order_id_returns_only_that_orders_incidents(api: ApiClient, shop: dict[str, str]) -> None:
    assert ids(api, order_id="SO-1001") == [shop["maria"]]
    assert ids(api, order_id="SO-100") == []  # exact, not a prefix


def test_tracking_number_customer_email_and_parcel_id(api: ApiClient, shop: dict[str, str]) -> None:
    parcel_of_li = api.get(f"/v1/incidents/{shop['li']}").json()["parcel_id"]
    ups = register_parcel(api, order_id="SO-3000", tracking_number=UPS_NUMBERS[0], carrier="ups")
    by_ups = open_incident(api, ups["id"]).json()["id"]

    assert ids(api, tracking_number="SANDBOX-B2") == [shop["li"]]
    assert ids(api, tracking_number="1z999aa1 0123-456784") == [by_ups]  # as a person types it
    assert ids(api, customer_email="maria@example.COM") == [shop["maria"]]
    assert ids(api, customer_email="maria@example") == []  # the whole address, not a part
    assert ids(api, customer_email="%@example.com") == []  # wildcards are literal
    assert ids(api, parcel_id=parcel_of_li) == [shop["li"]]
    assert api.get("/v1/incidents", params={"parcel_id": "SO-1"}).status_code == 422


def test_several_statuses_types_and_carriers(api: ApiClient, shop: dict[str, str]) -> None:
    escalate = {"to": "escalated", "reason": "carrier does not answer"}
    for incident in (shop["li"], shop["jose"]):
        moved = api.post(f"/v1/incidents/{incident}/transitions", json={"to": "in_progress"})
        assert moved.status_code == 200, moved.text
    assert api.post(f"/v1/incidents/{shop['li']}/transitions", json=escalate).status_code == 200

    assert ids(api, status="escalated") == [shop["li"]]  # one status, as before
    assert ids(api, status=["open", "escalated"]) == [shop["ann"], shop["li"], shop["maria"]]
    assert ids(api, type=["lost", "damaged"]) == [shop["jose"], shop["li"]]
    assert ids(api, carrier=["ups", "sandbox"]) == ids(api)
    assert ids(api, carrier=["ups"]) == []
    unknown_status = api.get("/v1/incidents", params={"status": ["open", "gone"]})
    assert unknown_status.status_code == 422
    [error] = unknown_status.json()["errors"]
    assert (error["field"], error["in"]) == ("status", "query")
    assert error["message"].startswith("value 2: ")


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("so-100", ["jose", "li", "maria"]),  # order ids, whatever the case
        ("sandbox-c", ["jose"]),  # tracking number
        ("li wei", ["li"]),  # customer name
        ("MARIA@example", ["maria"]),  # e-mail, whatever the case
        ("zd-", ["li", "maria"]),  # ticket references
        ("leipzig", ["maria"]),  # description
        ("50%", ["li"]),  # % is a character, not "anything"
        ("%", ["li"]),
        ("hs_7", ["jose"]),  # _ is a character, not "any one"
        ("_", ["jose"]),
        ('"crushed"', ["jose"]),  # quotes
        ("customer's", ["jose"]),
        ("o'neil", ["ann"]),
        ("C:\\temp\\", ["ann"]),  # backslashes
        ("\\", ["ann"]),
        ("Müller", ["jose"]),  # unicode
        ("josé", ["jose"]),
        ("nothing like it", []),
    ],
)
def test_free_text_search(api: ApiClient, shop: dict[str, str], q: str, who: list[str]) -> None:
    assert ids(api, q=q) == [shop[name] for name in who]


def test_search_never_crosses_tenants(
    api: ApiClient, other_api: ApiClient, shop: dict[str, str]
) -> None:
    theirs = incident_for(other_api, order_id="SO-1001", tracking_number="SANDBOX-A1")

    assert ids(api, q="SO-1001") == [shop["maria"]]
    assert ids(api, order_id="SO-1001") == [shop["maria"]]
    assert ids(other_api, q="leipzig") == []
    assert ids(other_api, q="SO-1001") == [theirs]


def test_filters_combine_with_each_other_and_the_pages(api: ApiClient, clock: FakeClock) -> None:
    wanted = []
    for i in range(7):
        is_lost = i % 2 == 0
        made = incident_for(
            api,
            order_id=f"SO-7{i}",
            tracking_number=f"SANDBOX-P{i}",
            who=customer("Eve Example", "eve@example.com" if i < 6 else "bob@example.com"),
            type="lost" if is_lost else "delay",
            description=f"case {i}: customer chased twice",
        )
        if is_lost and i < 6:
            wanted.append(made)
        clock.advance(minutes=5)
    filters = {"q": "chased", "type": "lost", "customer_email": "EVE@example.com", "status": "open"}

    pages, token = [], None
    while True:
        paging = {"page_size": 1} | ({"page_token": token} if token else {})
        page = api.get("/v1/incidents", params=filters | paging).json()
        pages.append([item["id"] for item in page["items"]])
        token = page["next_page_token"]
        if not token:
            break
        other = api.get("/v1/incidents", params=filters | {"q": "chase", "page_token": token})
        assert other.status_code == 400  # a token is bound to every filter, q included
        assert other.json()["errors"][0]["field"] == "page_token"

    assert [found for page in pages for found in page] == wanted[::-1]
    window = {"opened_after": "2026-03-12T09:40:00Z", "source": "customer", "overdue": "false"}
    assert ids(api, **filters, **window) == wanted[::-1][:2]


def test_the_same_choices_in_another_order_keep_the_page_token(
    api: ApiClient, shop: dict[str, str]
) -> None:
    params = {"status": ["open", "escalated"], "page_size": 2}
    token = api.get("/v1/incidents", params=params).json()["next_page_token"]

    reordered = {"status": ["escalated", "open", "open"], "page_size": 2, "page_token": token}
    response = api.get("/v1/incidents", params=reordered)

    assert response.status_code == 200
    assert [i["id"] for i in response.json()["items"]] == [shop["li"], shop["maria"]]
