"""A tenant's stuck thresholds: defaults shown, overrides validated and kept per tenant."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ApiClient


def test_defaults_are_shown_with_no_rules(api: ApiClient) -> None:
    body = api.get("/v1/settings/stuck-rules").json()
    assert body["rules"] == []
    defaults = {d["status"]: (d["express"], d["postal"]) for d in body["defaults"]}
    assert defaults["in_transit"] == (4, 8)
    assert defaults["customs_hold"] == (3, 7)
    assert defaults["presumed_lost"] == (20, 30)
    assert body["carrier_classes"]["sandbox"] == "express"


def test_rules_are_replaced_and_kept_per_tenant(api: ApiClient, other_api: ApiClient) -> None:
    rules = [
        {
            "carrier": "sandbox",
            "status": "customs_hold",
            "destination_country": "br",
            "business_days": 10,
        },
        {"status": "in_transit", "business_days": 6.5},
    ]
    response = api.put("/v1/settings/stuck-rules", json={"rules": rules})
    assert response.status_code == 200, response.text
    stored = response.json()["rules"]
    assert stored[0] == {
        "carrier": "sandbox",
        "status": "customs_hold",
        "destination_country": "BR",
        "business_days": 10.0,
    }
    assert stored[1]["business_days"] == 6.5
    assert other_api.get("/v1/settings/stuck-rules").json()["rules"] == []
    api.put("/v1/settings/stuck-rules", json={"rules": []})
    assert api.get("/v1/settings/stuck-rules").json()["rules"] == []


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"carrier": "pigeon", "business_days": 3}, "rules.0.carrier"),
        ({"status": "teleported", "business_days": 3}, "rules.0.status"),
        ({"status": "in_transit", "business_days": 0}, "rules.0.business_days"),
        ({"status": "in_transit", "business_days": 400}, "rules.0.business_days"),
        ({"destination_country": "XX", "business_days": 3}, "rules.0.destination_country"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(
    api: ApiClient, rule: dict[str, Any], field: str
) -> None:
    api.put("/v1/settings/stuck-rules", json={"rules": [{"business_days": 5}]})
    response = api.put("/v1/settings/stuck-rules", json={"rules": [rule]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    # nothing was lost: the earlier rule is still there
    assert api.get("/v1/settings/stuck-rules").json()["rules"][0]["business_days"] == 5


def test_two_rules_for_the_same_parcels_are_refused(api: ApiClient) -> None:
    rule = {"carrier": "sandbox", "status": "in_transit", "business_days": 3}
    response = api.put("/v1/settings/stuck-rules", json={"rules": [rule, rule]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "rules.1"


def test_changing_rules_needs_the_admin_scope(client, db) -> None:
    from tests.factories import new_api_key

    reader = ApiClient(client, new_api_key(db, tenant="acme", scopes=("read",)))
    assert reader.get("/v1/settings/stuck-rules").status_code == 200
    response = reader.put("/v1/settings/stuck-rules", json={"rules": []})
    assert response.status_code == 403
