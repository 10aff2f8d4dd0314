"""The Carrier column on import: TNT, SF Express and its Chinese names, 17TRACK keys, others."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from app.tracker_sheet.rows import parse_row
from tests.factories import ApiClient
from tests.tracker_sheet.test_import import sheet, upload

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


def _row(carrier: str, number: str = "SF1402736915048") -> dict[str, object]:
    return {"Order ID": "SO-1", "Tracking Number": number, "Carrier": carrier}


@pytest.mark.parametrize(
    ("name", "number", "code"),
    [
        ("TNT", "324518075", "tnt"),
        ("TNT Express", "GD709382646WW", "tnt"),
        ("SF Express", "SF1402736915048", "sf_express"),
        ("SF", "702419385561", "sf_express"),  # the bare 12 digits, named: fine
        ("顺丰", "SF1402736915048", "sf_express"),
        ("顺丰速运", "SF1402736915048", "sf_express"),
        ("順豐", "SF1402736915048", "sf_express"),
        ("17track:100010", "15502370914826", "17track:100010"),
        ("17TRACK carrier 654321", "AB998877", "17track:654321"),
        ("DPD (UK) (17TRACK 100010)", "15502370914826", "17track:100010"),  # as exported
    ],
)
def test_sheet_names_map_to_carrier_codes(name: str, number: str, code: str) -> None:
    row, errors = parse_row(2, _row(name, number), now=NOW)

    assert errors == []
    assert row is not None
    assert (row.carrier, row.parcel.carrier_name) == (code, None)


@pytest.mark.parametrize("name", ["Other: Hermes", "other - Hermes", "Other — Hermes"])
def test_other_with_a_name_is_a_carrier_we_do_not_track(name: str) -> None:
    row, errors = parse_row(3, _row(name, "H1002340056789012"), now=NOW)

    assert errors == []
    assert row is not None
    assert (row.carrier, row.parcel.carrier_name) == ("other", "Hermes")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Hermes", "'Other: <name>'"),
        ("Other", "unknown carrier 'Other'"),
        ("17TRACK", "give the carrier's 17TRACK key"),
        ("17track:0", "positive whole number"),
    ],
)
def test_unknown_or_incomplete_carriers_are_row_errors_that_say_what_to_write(
    name: str, reason: str
) -> None:
    row, errors = parse_row(4, _row(name), now=NOW)

    assert row is None
    assert [(e.row, e.column) for e in errors] == [(4, "Carrier")]
    assert reason in errors[0].reason


def test_tnt_sf_and_other_rows_import(api: ApiClient) -> None:
    base = {"Order Date": "2026-03-01", "Resolution Status": "Open"}
    content = sheet(
        {**base, "Order ID": "SO-1", "Carrier": "TNT", "Tracking Number": "324518075"},
        {**base, "Order ID": "SO-2", "Carrier": "顺丰", "Tracking Number": "SF1402736915048"},
        {**base, "Order ID": "SO-3", "Carrier": "Other: Hermes", "Tracking Number": "H100234005"},
    )

    response = upload(api, content, dry_run=False)

    assert response.status_code == 200, response.text
    assert (response.json()["imported"], response.json()["errors"]) == (3, [])
    parcels = {p["order_id"]: p for p in api.get("/v1/parcels").json()["items"]}
    assert {o: (p["carrier"], p["carrier_name"]) for o, p in parcels.items()} == {
        "SO-1": ("tnt", "TNT"),
        "SO-2": ("sf_express", "SF Express"),
        "SO-3": ("other", "Hermes"),
    }
    assert parcels["SO-3"]["next_poll_at"] is None


def test_an_exported_other_carrier_imports_again_by_its_name(api: ApiClient) -> None:
    parcel = api.post(
        "/v1/parcels",
        json={
            "carrier": "other",
            "carrier_name": "Speedy Couriers",
            "tracking_url_template": "https://track.speedy.example/?n={number}",
            "tracking_number": "SPD77123",
            "order_id": "SO-77",
        },
    )
    assert parcel.status_code == 201, parcel.text
    opened = api.post(
        "/v1/incidents",
        json={"type": "delay", "source": "customer", "parcel_id": parcel.json()["id"]},
    )
    assert opened.status_code == 201, opened.text

    exported = api.get("/v1/incidents/export", params={"format": "csv"})
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert row["Carrier"] == "Other: Speedy Couriers"
    assert "https://track.speedy.example/?n=SPD77123" in exported.text

    again = upload(api, exported.content)  # a dry run: the row is recognised, nothing invalid
    assert again.status_code == 200, again.text
    assert (again.json()["failed"], again.json()["already_imported"]) == (0, 1)
