"""The export takes the incident list's filters, the new ones included, and no others."""

from __future__ import annotations

from tests.factories import ApiClient, FakeClock, open_incident, register_parcel
from tests.tracker_sheet.fixtures import read_csv


def test_export_filters_like_the_list(api: ApiClient, clock: FakeClock) -> None:
    for order, number, email in [
        ("SO-1001", "SANDBOX-A1", "maria@example.com"),
        ("SO-1002", "SANDBOX-B2", "li.wei@example.org"),
        ("SO-1003", "SANDBOX-C3", "maria@example.com"),
    ]:
        customer = {"name": "Customer", "email": email}
        parcel = register_parcel(
            api, order_id=order, tracking_number=number, carrier="sandbox", customer=customer
        )
        open_incident(api, parcel["id"])
        clock.advance(minutes=10)

    def orders(**params: object) -> list[str]:
        response = api.get("/v1/incidents/export", params=params)
        assert response.status_code == 200, response.text
        return [row["Order ID"] for row in read_csv(response.content)]

    assert orders(order_id="SO-1002") == ["SO-1002"]
    assert orders(customer_email="MARIA@example.com") == ["SO-1003", "SO-1001"]
    assert orders(q="sandbox-c", status=["open", "escalated"]) == ["SO-1003"]
    unknown = api.get("/v1/incidents/export", params={"order": "SO-1002"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "order"
