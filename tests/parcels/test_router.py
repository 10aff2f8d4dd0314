"""Registering parcels, reading them back, and pushing scans."""

from __future__ import annotations

from tests.factories import UPS_NUMBERS, ApiClient, parcel_payload, register_parcel


def test_register_parcel_stores_and_normalises_every_field(api: ApiClient) -> None:
    response = api.post("/v1/parcels", json=parcel_payload(destination_country="de"))

    assert response.status_code == 201, response.text
    parcel = response.json()
    assert response.headers["location"] == f"/v1/parcels/{parcel['id']}"
    assert parcel["carrier"] == "ups"
    assert parcel["tracking_number"] == UPS_NUMBERS[0]
    assert parcel["destination_country"] == "DE"
    assert parcel["customer"]["phone"] == "+4930901820"
    assert parcel["customer"]["locale"] == "de-DE"
    assert parcel["declared_value"] == "59.90"
    assert parcel["currency"] == "EUR"
    assert parcel["shipped_at"] == "2026-03-02T00:15:00Z"
    assert parcel["status"] == "info_received"
    assert parcel["last_scan"] is None
    assert api.get(f"/v1/parcels/{parcel['id']}").json() == parcel


def test_same_tracking_number_twice_is_409_naming_the_first(api: ApiClient) -> None:
    first = register_parcel(api)

    again = api.post("/v1/parcels", json=parcel_payload(order_id="SO-OTHER"))

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["existing_id"] == first["id"]


def test_national_phone_number_is_read_in_the_destination_country(api: ApiClient) -> None:
    payload = parcel_payload(destination_country="US", customer={"phone": "(415) 555-2671"})

    parcel = api.post("/v1/parcels", json=payload).json()

    assert parcel["customer"]["phone"] == "+14155552671"


def test_invalid_fields_are_named_in_a_problem(api: ApiClient) -> None:
    cases = {
        "destination_country": parcel_payload(destination_country="XX"),
        "currency": parcel_payload(currency="EURO"),
        "customer.email": parcel_payload(customer={"email": "not-an-email"}),
        "customer.phone": parcel_payload(customer={"phone": "+1 12"}),
        "customer.locale": parcel_payload(customer={"locale": "klingon-XX"}),
        "shipped_at": parcel_payload(shipped_at="2026-03-02T08:15:00"),
        "carrier": parcel_payload(carrier="pigeon"),
        "status": {**parcel_payload(), "status": "delivered"},
    }
    for field, payload in cases.items():
        response = api.post("/v1/parcels", json=payload)
        assert response.status_code == 422, (field, response.text)
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == 422
        assert field in [e["field"] for e in problem["errors"]], (field, problem)


def test_declared_value_without_currency_is_refused(api: ApiClient) -> None:
    payload = parcel_payload()
    del payload["currency"]

    response = api.post("/v1/parcels", json=payload)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "currency"


def test_list_filters_and_pages_through_parcels(api: ApiClient) -> None:
    for i in range(5):
        register_parcel(
            api,
            tracking_number=f"SANDBOX-DELIVERED-{i}",
            carrier="sandbox",
            order_id=f"SO-{i}",
            destination_country="US" if i % 2 else "DE",
        )
    register_parcel(api)

    seen: list[str] = []
    token = None
    while True:
        params = {"page_size": 2, "carrier": "sandbox"} | ({"page_token": token} if token else {})
        page = api.get("/v1/parcels", params=params).json()
        seen += [p["order_id"] for p in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert sorted(seen) == [f"SO-{i}" for i in range(5)]
    us_only = api.get("/v1/parcels", params={"destination_country": "US"}).json()["items"]
    assert sorted(p["order_id"] for p in us_only) == ["SO-1", "SO-3"]
    by_order = api.get("/v1/parcels", params={"order_id": "SO-10023"}).json()["items"]
    assert [p["carrier"] for p in by_order] == ["ups"]


def test_page_token_is_tamper_proof_and_bound_to_filters(api: ApiClient) -> None:
    for i in range(3):
        register_parcel(api, tracking_number=f"SANDBOX-STALLED-{i}", carrier="sandbox")
    token = api.get("/v1/parcels", params={"page_size": 1}).json()["next_page_token"]

    middle = len(token) // 2
    forged = token[:middle] + ("B" if token[middle] != "B" else "C") + token[middle + 1 :]
    tampered = api.get("/v1/parcels", params={"page_size": 1, "page_token": forged})
    other_filters = api.get("/v1/parcels", params={"page_token": token, "carrier": "ups"})

    assert tampered.status_code == 400
    assert tampered.json()["errors"][0]["field"] == "page_token"
    assert other_filters.status_code == 400


def scan(status: str, at: str, description: str, **extra: object) -> dict[str, object]:
    return {
        "status": status,
        "occurred_at": at,
        "description": description,
        "location": {"city": "Leipzig", "country": "DE"},
        "raw_code": status[:2].upper(),
        **extra,
    }


def test_pushed_scans_set_status_and_duplicates_are_ignored(api: ApiClient) -> None:
    parcel = register_parcel(api)
    scans = [
        scan("accepted", "2026-03-02T10:00:00+08:00", "Picked up"),
        scan("in_transit", "2026-03-05T07:00:00+01:00", "Arrived at hub"),
    ]

    first = api.post(f"/v1/parcels/{parcel['id']}/scans", json={"scans": scans}).json()
    again = api.post(f"/v1/parcels/{parcel['id']}/scans", json={"scans": scans}).json()

    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert again["parcel"]["status"] == "in_transit"
    assert again["parcel"]["last_scan_at"] == "2026-03-05T06:00:00Z"
    assert again["parcel"]["last_scan"]["description"] == "Arrived at hub"
    assert again["parcel"]["last_scan"]["location"] == {
        "city": "Leipzig",
        "region": None,
        "postal_code": None,
        "country": "DE",
    }
    stored = api.get(f"/v1/parcels/{parcel['id']}/scans").json()
    assert [s["description"] for s in stored] == ["Picked up", "Arrived at hub"]


def test_late_older_scan_never_moves_status_backwards(api: ApiClient) -> None:
    parcel = register_parcel(api)
    url = f"/v1/parcels/{parcel['id']}/scans"
    api.post(url, json={"scans": [scan("delivered", "2026-03-09T14:00:00Z", "Delivered")]})

    late = api.post(url, json={"scans": [scan("customs_hold", "2026-03-06T09:00:00Z", "Customs")]})

    assert late.json()["accepted"] == 1
    assert late.json()["parcel"]["status"] == "delivered"
    assert [s["status"] for s in api.get(url).json()] == ["customs_hold", "delivered"]


def test_scan_without_offset_or_with_bad_status_is_refused(api: ApiClient) -> None:
    parcel = register_parcel(api)
    url = f"/v1/parcels/{parcel['id']}/scans"

    naive = api.post(url, json={"scans": [scan("in_transit", "2026-03-06T09:00:00", "x")]})
    bad = api.post(url, json={"scans": [scan("teleported", "2026-03-06T09:00:00Z", "x")]})

    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "scans.0.occurred_at"
    assert bad.status_code == 422
    assert api.get(url).json() == []


def test_a_page_token_with_characters_outside_its_alphabet_is_refused(api: ApiClient) -> None:
    """Probe finding: base64 decoding skipped characters it did not know, so a token with
    junk inside still worked. The OpenAPI states the alphabet and the server enforces it."""
    for i in range(3):
        register_parcel(api, tracking_number=f"SANDBOX-STALLED-{i}", carrier="sandbox")
    token = api.get("/v1/parcels", params={"page_size": 1}).json()["next_page_token"]

    junk = api.get(
        "/v1/parcels", params={"page_size": 1, "page_token": token[:4] + "!*~." + token[4:]}
    )

    assert junk.status_code == 422
    assert junk.json()["errors"][0]["field"] == "page_token"
    documented = next(
        parameter
        for parameter in api.get("/openapi.json").json()["paths"]["/v1/parcels"]["get"][
            "parameters"
        ]
        if parameter["name"] == "page_token"
    )
    assert documented["schema"]["anyOf"][0]["pattern"] == "^[A-Za-z0-9_-]+$"
