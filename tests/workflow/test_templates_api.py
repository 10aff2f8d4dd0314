"""Templates over the API: the catalogue, a tenant's own wording (checked before it is saved)."""

from __future__ import annotations

from tests.factories import ApiClient
from tests.workflow.helpers import new_incident, url

OWN_GERMAN = {
    "subject": "Bestellung {{ order_id }}: kleine Verspätung",
    "body": "Liebe/r {{ customer_name }},\n\n"
    "{{ carrier }} braucht etwas länger ({{ params.reason }}).\n\n"
    "Wir melden uns bis {{ update_by }}.\n{{ store_name }}",
}


def test_the_catalogue_lists_every_situation_with_its_languages_and_parameters(
    api: ApiClient,
) -> None:
    items = api.get("/v1/templates").json()["items"]
    by_key = {item["key"]: item for item in items}
    detail = api.get("/v1/templates/parcel_returned").json()

    assert sorted(by_key) == [
        "delay_notice",
        "evidence_request",
        "holiday_suspension",
        "in_transit_update",
        "incident_closed",
        "parcel_lost",
        "parcel_returned",
        "refund_confirmed",
        "reshipment_promised",
    ]
    assert all(item["languages"] == ["en", "es", "fr", "de", "pt"] for item in items)
    assert by_key["parcel_returned"]["params"][0]["choices"] == [
        "wrong_address",
        "unpaid_duties",
        "refused",
        "not_collected",
    ]
    assert [t["language"] for t in detail["texts"]] == ["de", "en", "es", "fr", "pt"]
    assert {t["source"] for t in detail["texts"]} == {"library"}
    assert api.get("/v1/templates/no_such_thing").status_code == 404


def test_a_tenants_override_is_used_for_its_customers_only(
    api: ApiClient, other_api: ApiClient
) -> None:
    created = api.put("/v1/templates/delay_notice/de", json=OWN_GERMAN)
    replaced = api.put(
        "/v1/templates/delay_notice/de", json={**OWN_GERMAN, "subject": "Verspätung {{ order_id }}"}
    )
    mine = new_incident(api)  # Maria Schmidt, de-DE
    theirs = new_incident(other_api)
    body = {"template_key": "delay_notice", "params": {"reason": "peak_season"}}

    my_preview = api.post(url(mine, "/messages/preview"), json=body).json()
    their_preview = other_api.post(url(theirs, "/messages/preview"), json=body).json()
    listed = {i["key"]: i for i in api.get("/v1/templates").json()["items"]}
    deleted = api.delete("/v1/templates/delay_notice/de")
    after_delete = api.post(url(mine, "/messages/preview"), json=body).json()

    assert created.status_code == 201
    assert replaced.status_code == 200
    assert replaced.json()["overridden_languages"] == ["de"]
    assert my_preview["source"] == "tenant"
    assert my_preview["subject"] == "Verspätung SO-10023"
    assert my_preview["body"] == (
        "Liebe/r Maria Schmidt,\n\nUPS braucht etwas länger (peak_season).\n\n"
        "Wir melden uns bis 16. März 2026.\nacme"
    )
    assert their_preview["source"] == "library"
    assert listed["delay_notice"]["overridden_languages"] == ["de"]
    assert deleted.status_code == 204
    assert after_delete["source"] == "library"
    assert after_delete["subject"] == "Ihre Bestellung SO-10023 verspätet sich: der Grund"


def test_a_template_that_does_not_render_is_refused_with_its_line(api: ApiClient) -> None:
    cases = {
        "undefined": (
            {"subject": "ok", "body": "Hallo {{ customer_name }},\n\n{{ tracking_nummer }}"},
            "body",
            3,
            "'tracking_nummer' is undefined",
        ),
        "syntax": (
            {"subject": "ok", "body": "a\nb\n{% if order_id %}\nnever closed"},
            "body",
            3,
            "Unexpected end of template",
        ),
        "loop": (
            {"subject": "ok", "body": "{% for c in customer_name %}{{ c }}{% endfor %}"},
            "body",
            1,
            "For is not allowed",
        ),
        "subject": (
            {"subject": "Order {{ order.id }}", "body": "fine"},
            "subject",
            1,
            "'order' is undefined",
        ),
    }
    for name, (body, field, line, message) in cases.items():
        response = api.put("/v1/templates/in_transit_update/en", json=body)

        assert response.status_code == 422, name
        error = response.json()["errors"][0]
        assert (error["field"], error["line"]) == (field, line), name
        assert message in error["message"], name
        assert f"line {line}" in response.json()["detail"], name
    assert api.get("/v1/templates/in_transit_update").json()["overridden_languages"] == []


def test_an_override_needs_a_known_template_and_language(api: ApiClient) -> None:
    unknown_key = api.put("/v1/templates/apology_poem/en", json=OWN_GERMAN)
    unknown_language = api.put("/v1/templates/delay_notice/xx", json=OWN_GERMAN)
    italian = api.put(
        "/v1/templates/incident_closed/it",
        json={"subject": "Caso {{ incident_number }} chiuso", "body": "Grazie {{ customer_name }}"},
    )

    assert unknown_key.status_code == 404
    assert unknown_language.status_code == 422
    assert unknown_language.json()["errors"][0]["field"] == "language"
    assert italian.status_code == 201  # a language we lack: the tenant may add it


def test_preview_checks_the_parameters_and_escapes_html(api: ApiClient) -> None:
    incident = new_incident(
        api, customer={"name": "<img src=x onerror=alert(1)>", "email": "x@example.com"}
    )
    preview = url(incident, "/messages/preview")

    missing = api.post(preview, json={"template_key": "parcel_returned"})
    unknown = api.post(
        preview, json={"template_key": "incident_closed", "params": {"voucher": "X"}}
    )
    rendered = api.post(preview, json={"template_key": "incident_closed", "language": "fr"})

    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "params.reason"
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "params.voucher"
    assert rendered.json()["language"] == "fr"
    assert rendered.json()["body"].startswith("Bonjour <img src=x onerror=alert(1)>,")
    assert rendered.json()["body_html"].startswith(
        "<p>Bonjour &lt;img src=x onerror=alert(1)&gt;,</p>"
    )
