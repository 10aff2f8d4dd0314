"""Money keeps its currency's minor units: 59.90 EUR, 5990 JPY, 1.250 KWD, wherever the API
writes an amount (parcels, compensation, proposals, claims, the tracker export)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.core.schemas import minor_units, money_text
from app.tracker_sheet.columns import COLUMNS
from tests.factories import ApiClient, open_incident, register_parcel
from tests.tracker_sheet.fixtures import read_csv
from tests.workflow.helpers import new_incident, ready_for_proposal, step, url


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("59.9", "EUR", "59.90"),
        ("59.900", "EUR", "59.90"),  # as PostgreSQL and SQLite hand back NUMERIC(14, 3)
        ("5990", "JPY", "5990"),
        ("5990.000", "JPY", "5990"),
        ("1.25", "KWD", "1.250"),
        ("12.345", "EUR", "12.345"),  # padding only: a digit that carries value stays
        ("0", "USD", "0.00"),
        ("59.900", None, "59.900"),  # no currency: as stored, nothing stripped
        ("10", None, "10"),
    ],
)
def test_an_amount_is_written_with_its_currencys_minor_units(
    amount: str, currency: str | None, text: str
) -> None:
    assert money_text(Decimal(amount), currency) == text


def test_minor_units_come_from_cldr() -> None:
    assert (minor_units("EUR"), minor_units("jpy"), minor_units("KWD")) == (2, 0, 3)


@pytest.mark.parametrize(
    ("declared", "currency", "shown"),
    [("59.9", "EUR", "59.90"), ("5990", "JPY", "5990"), ("1.25", "KWD", "1.250")],
)
def test_a_parcels_declared_value_keeps_its_minor_units_when_read_back(
    api: ApiClient, declared: str, currency: str, shown: str
) -> None:
    parcel = register_parcel(api, declared_value=declared, currency=currency)
    listed = api.get("/v1/parcels").json()["items"][0]

    assert parcel["declared_value"] == shown
    assert api.get(f"/v1/parcels/{parcel['id']}").json()["declared_value"] == shown
    assert listed["declared_value"] == shown


def test_compensation_and_its_proposal_keep_their_minor_units(api: ApiClient) -> None:
    incident = new_incident(api, declared_value="5990", currency="JPY")
    ready_for_proposal(api, incident)

    process = step(
        api,
        incident,
        "proposal",
        {
            "solution": "Partial refund",
            "compensation": {"kind": "partial_refund", "amount": "12.5", "currency": "EUR"},
        },
    )
    row = api.get(url(incident)).json()

    assert process["compensation"]["amount"] == "12.50"
    assert process["proposals"][0]["value"] == "12.50"
    assert process["proposals"][0]["value_currency"] == "EUR"
    assert row["compensation"]["amount"] == "12.50"
    tracker = read_csv(api.get("/v1/incidents/export").content)
    assert tracker[0]["Compensation Amount"] == "12.50"
    workbook = api.get("/v1/incidents/export", params={"format": "xlsx"}).content
    amount = load_workbook(io.BytesIO(workbook))["Tracker"].cell(
        row=2, column=COLUMNS.index("Compensation Amount") + 1
    )
    assert (amount.value, amount.number_format) == (12.5, "0.00")


def test_a_percentage_proposal_is_valued_in_the_orders_currency(api: ApiClient) -> None:
    parcel = register_parcel(api, declared_value="1.25", currency="KWD")
    incident = open_incident(api, parcel["id"], type="damaged").json()
    ready_for_proposal(api, incident)

    process = step(
        api,
        incident,
        "proposal",
        {"solution": "Half back", "compensation": {"kind": "partial_refund", "percent": "40"}},
    )

    assert (process["proposals"][0]["value"], process["proposals"][0]["value_currency"]) == (
        "0.500",
        "KWD",
    )


def test_claim_amounts_keep_their_minor_units(api: ApiClient) -> None:
    incident = new_incident(api)
    claims = url(incident, "/claims")

    claim = api.post(
        claims, json={"claim_type": "damaged", "amount": "5990", "currency": "JPY"}
    ).json()
    filed = api.post(
        f"{claims}/{claim['id']}/transitions", json={"to": "filed", "carrier_reference": "C-1"}
    )
    partial = api.post(
        f"{claims}/{claim['id']}/transitions", json={"to": "partially_approved", "amount": "4000"}
    ).json()
    euros = api.post(claims, json={"claim_type": "lost", "amount": "40.5", "currency": "EUR"})

    assert filed.status_code == 200, filed.text
    assert (claim["amount"], claim["approved_amount"]) == ("5990", None)
    assert (partial["amount"], partial["approved_amount"]) == ("5990", "4000")
    assert euros.json()["amount"] == "40.50"
