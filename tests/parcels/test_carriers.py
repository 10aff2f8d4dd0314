"""Parcels of every carrier a seller ships with: TNT, SF Express, `17track:<key>` and `other`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ApiClient, open_incident, parcel_payload, register_parcel

TEMPLATE = "https://track.example.com/?n={number}"


def other(**overrides: Any) -> dict[str, Any]:
    fields = {
        "carrier": "other",
        "carrier_name": "Hermes",
        "tracking_number": "H1002340056789012",
        "tracking_url_template": TEMPLATE,
    }
    return fields | overrides


def test_tnt_and_sf_express_numbers_register_without_naming_the_carrier(api: ApiClient) -> None:
    tnt = register_parcel(api, carrier=None, tracking_number="324 518 075")
    sf = register_parcel(api, carrier=None, tracking_number="sf1402736915048")

    assert (tnt["carrier"], tnt["carrier_name"]) == ("tnt", "TNT")
    assert tnt["tracking_url"].endswith("searchType=con&cons=324518075")
    assert (sf["carrier"], sf["carrier_name"]) == ("sf_express", "SF Express")
    assert sf["tracking_url"].endswith("#search/bill-number/SF1402736915048")
    assert tnt["next_poll_at"] is not None


def test_any_17track_carrier_registers_by_its_key(api: ApiClient) -> None:
    parcel = register_parcel(api, carrier="17track:0100010", tracking_number="15502370914826")

    assert parcel["carrier"] == "17track:100010"  # one spelling per key
    assert parcel["carrier_name"] == "DPD (UK) (17TRACK 100010)"
    assert parcel["tracking_url"] == "https://t.17track.net/en#nums=15502370914826&fc=100010"
    assert parcel["tracking_url_template"] is None
    assert parcel["next_poll_at"] is not None
    unnamed = register_parcel(api, carrier="17track:654321", tracking_number="AB998877")
    assert unnamed["carrier_name"] == "17TRACK carrier 654321"
    listed = api.get("/v1/parcels", params={"carrier": "17track:100010"}).json()["items"]
    assert [p["id"] for p in listed] == [parcel["id"]]


def test_an_other_carrier_keeps_its_name_and_links_through_its_template(api: ApiClient) -> None:
    parcel = register_parcel(api, **other())

    assert parcel["carrier"] == "other"
    assert parcel["carrier_name"] == "Hermes"
    assert parcel["tracking_url"] == "https://track.example.com/?n=H1002340056789012"
    assert parcel["tracking_url_template"] == TEMPLATE
    assert parcel["next_poll_at"] is None  # never polled: its scans are pushed
    assert api.get(f"/v1/parcels/{parcel['id']}").json() == parcel


def test_an_other_carrier_without_a_template_links_to_17tracks_public_page(
    api: ApiClient,
) -> None:
    parcel = register_parcel(api, **other(tracking_url_template=None))

    assert parcel["tracking_url"] == "https://t.17track.net/en#nums=H1002340056789012"


def test_the_incident_of_an_other_parcel_shows_its_templated_link(api: ApiClient) -> None:
    parcel = register_parcel(api, **other())

    incident = open_incident(api, parcel["id"]).json()

    assert incident["carrier"] == "other"
    assert incident["tracking_url"] == "https://track.example.com/?n=H1002340056789012"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("http://track.example.com/?n={number}", "https://"),
        ("https://track.example.com/?n=", "{number} exactly once"),
        ("https://track.example.com/{number}?n={number}", "{number} exactly once"),
        ("https://{number}.example.com/", "after the host"),
        ("https://user:pw@track.example.com/{number}", "no user or password"),
        ("https://track.example.com/{id}/{number}", "no braces"),
        ("https://track.example.com/?n= {number}", "spaces"),
        ("https:///{number}", "host"),
        ("javascript:alert(1)//{number}", "https://"),
        ("https://track.example.com:port/{number}", "not a URL"),
    ],
)
def test_a_bad_template_is_422_naming_tracking_url_template(
    api: ApiClient, template: str, message: str
) -> None:
    response = api.post("/v1/parcels", json=parcel_payload(**other(tracking_url_template=template)))

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "tracking_url_template"
    assert message in error["message"]


def test_other_needs_a_name_and_only_other_takes_one(api: ApiClient) -> None:
    nameless = api.post("/v1/parcels", json=parcel_payload(**other(carrier_name=None)))
    named_ups = api.post("/v1/parcels", json=parcel_payload(carrier_name="UPS Ground"))
    templated = api.post("/v1/parcels", json=parcel_payload(tracking_url_template=TEMPLATE))

    assert [r.status_code for r in (nameless, named_ups, templated)] == [422, 422, 422]
    assert nameless.json()["errors"][0]["field"] == "carrier_name"
    assert "required with carrier 'other'" in nameless.json()["errors"][0]["message"]
    assert named_ups.json()["errors"][0]["field"] == "carrier_name"
    assert "only for carrier 'other'" in named_ups.json()["errors"][0]["message"]
    assert templated.json()["errors"][0]["field"] == "tracking_url_template"
