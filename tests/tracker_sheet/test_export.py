"""GET /v1/incidents/export: the tracker spreadsheet, read back with csv and openpyxl."""

from __future__ import annotations

import io
import math
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from sqlmodel import select

from app.core.models import Tenant
from app.db.engine import Database
from app.incidents import queries as incident_queries
from app.incidents.models import Incident
from app.parcels.models import Parcel
from app.tracker_sheet.columns import COLUMNS
from app.tracker_sheet.exporter import sheet_pages
from tests.factories import START, UPS_NUMBERS, ApiClient, FakeClock, open_incident, register_parcel
from tests.tracker_sheet.fixtures import FORMULA, read_csv, seed_tracker

TRACKER_HEADER = [
    "Order ID",
    "Order Date",
    "Customer Contact",
    "Carrier",
    "Tracking Number",
    "Last Tracking Update",
    "Last Tracking Update Date",
    "Customer Reported Date",
    "Internal Action Log",
    "Communication Summary",
    "Next Step",
    "Next Step Deadline",
    "Resolution Status",
]


def test_csv_is_the_tracker_one_row_per_incident_in_the_tracker_order(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    seed_tracker(api, db, clock)

    response = api.get("/v1/incidents/export", params={"format": "csv"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="incidents-2026-03-12.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = read_csv(response.content)
    assert list(rows[0])[:13] == TRACKER_HEADER
    assert list(rows[0]) == list(COLUMNS)
    lost, damaged, customs = rows  # newest first, as the list
    assert customs["Order ID"] == "SO-10023"
    assert customs["Order Date"] == "2026-03-01"
    assert customs["Customer Contact"] == "maria.schmidt@example.com; ticket ZD-4411"
    assert customs["Carrier"] == "UPS"
    assert customs["Tracking Number"] == UPS_NUMBERS[0]
    assert customs["Last Tracking Update"] == "Held by import customs — Frankfurt, DE"
    assert customs["Last Tracking Update Date"] == "2026-03-08T10:00:00+00:00"
    assert customs["Customer Reported Date"] == "2026-03-12T09:30:00+00:00"
    log = customs["Internal Action Log"].splitlines()
    assert log[0].startswith("2026-03-12 09:30 UTC | agent-anna | opened | delay incident opened")
    anna = "UTC | agent-anna |"
    assert f"2026-03-12 09:40 {anna} carrier_contacted | UPS trace 88 opened. They call back" in log
    assert f"2026-03-12 09:50 {anna} customer_contacted | Told Maria it is at customs" in log
    assert customs["Communication Summary"] == "Maria knows it is held at customs in Frankfurt"
    assert customs["Next Step"] == "Call the UPS customs desk"
    assert customs["Next Step Deadline"] == "2026-03-15T09:30:00+00:00"
    assert customs["Resolution Status"] == "Open"
    assert customs["First Response At"] == "2026-03-12T09:50:00+00:00"
    assert (customs["Root Cause"], customs["Substantiated"]) == ("customs_inspection", "Yes")
    assert customs["Customer Phone"] == "+4930901820"
    assert customs["Last Tracking Status"] == "customs_hold"
    assert customs["Overdue"] == "No"
    assert damaged["Resolution Status"] == "Resolved (Delivered)"
    assert damaged["Next Step"] == damaged["Next Step Deadline"] == ""
    assert (damaged["Compensation Kind"], damaged["Compensation Amount"]) == ("discount", "5.50")
    assert (damaged["Compensation Currency"], damaged["Compensation Percent"]) == ("EUR", "10")
    assert lost["Carrier"] == "Sandbox (test carrier)"
    assert lost["Overdue"] == "Yes"
    assert lost["Description"] == "'" + FORMULA  # a spreadsheet must never run customer text
    assert lost["Customer Contact"] == "ana@example.com"


def test_the_lists_filters_apply_and_other_tenants_never_appear(
    api: ApiClient, other_api: ApiClient, db: Database, clock: FakeClock
) -> None:
    ids = seed_tracker(api, db, clock)
    theirs = register_parcel(other_api)
    assert open_incident(other_api, theirs["id"]).status_code == 201

    resolved = read_csv(api.get("/v1/incidents/export?status=resolved").content)
    overdue = read_csv(api.get("/v1/incidents/export?overdue=true").content)
    by_carrier = read_csv(api.get("/v1/incidents/export?carrier=ups&type=delay").content)
    everything = read_csv(api.get("/v1/incidents/export").content)
    bad = api.get("/v1/incidents/export?status=lost-in-space")

    assert [r["Incident ID"] for r in resolved] == [ids["damaged"]]
    assert [r["Incident ID"] for r in overdue] == [ids["lost"]]
    assert [r["Incident ID"] for r in by_carrier] == [ids["customs"]]
    assert sorted(r["Incident ID"] for r in everything) == sorted(ids.values())
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"


def test_xlsx_has_a_frozen_filtered_header_real_dates_links_and_red_overdue_deadlines(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    seed_tracker(api, db, clock)

    response = api.get("/v1/incidents/export", params={"format": "xlsx"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Tracker"]
    header = [cell.value for cell in sheet[1]]
    assert header == list(COLUMNS)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(COLUMNS))}4"
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    column = {name: i for i, name in enumerate(COLUMNS)}
    customs, lost = rows["SO-10023"], rows["SO-3"]
    reported = customs[column["Customer Reported Date"]]
    assert isinstance(reported, Cell)
    assert reported.is_date
    assert reported.value == datetime(2026, 3, 12, 9, 30)  # naive UTC: Excel has no zones
    order_date = customs[column["Order Date"]]
    assert isinstance(order_date, Cell)
    assert order_date.is_date
    link = customs[column["Tracking Number"]]
    assert link.value == UPS_NUMBERS[0]
    assert link.hyperlink is not None
    assert link.hyperlink.target == customs[column["Tracking URL"]].value
    deadline = lost[column["Next Step Deadline"]]
    assert isinstance(deadline, Cell)
    assert deadline.is_date
    assert deadline.fill.fgColor.rgb == "00FFC7CE"
    assert customs[column["Next Step Deadline"]].fill.fgColor.rgb != "00FFC7CE"
    description = lost[column["Description"]]
    assert (description.value, description.data_type) == (FORMULA, "s")  # text, not a formula
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(values_only=True)}
    assert about["Incidents"] == 3
    assert "UTC" in str(about["Times"])


def test_an_empty_export_is_just_the_header(api: ApiClient) -> None:
    csv_rows = read_csv(api.get("/v1/incidents/export").content)
    workbook = load_workbook(io.BytesIO(api.get("/v1/incidents/export?format=xlsx").content))

    assert csv_rows == []
    assert [c.value for c in workbook["Tracker"][1]] == list(COLUMNS)
    assert workbook["Tracker"].max_row == 1


@pytest.mark.parametrize("page_size", [1, 2, 500])
def test_pages_cover_every_incident_once_even_when_opened_at_the_same_instant(
    api: ApiClient, db: Database, page_size: int
) -> None:
    opened = []
    for n in range(5):  # the test clock stands still: five incidents, one opened_at
        parcel = register_parcel(api, order_id=f"SO-{n}", tracking_number=f"SANDBOX-A-{n}")
        opened.append(open_incident(api, parcel["id"]).json()["id"])
    with db.session() as session:
        [tenant] = session.exec(select(Tenant)).all()

    pages = list(
        sheet_pages(
            db,
            tenant_id=tenant.id,
            filters=incident_queries.IncidentFilters(),
            now=START,
            page_size=page_size,
        )
    )

    ids = [str(row.values[COLUMNS.index("Incident ID")]) for page in pages for row in page]
    assert sorted(ids) == sorted(opened)
    assert len(pages) == math.ceil(5 / page_size)
    assert all(len(page) <= page_size for page in pages)
    assert uuid.UUID(str(ids[0]))  # the Incident ID column is the incident's id


def test_export_needs_an_api_key_and_is_not_read_as_an_incident_id(client: TestClient) -> None:
    response = client.get("/v1/incidents/export")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_stored_values_a_spreadsheet_cannot_hold_never_cut_the_export(
    api: ApiClient, db: Database
) -> None:
    """Control characters (openpyxl refuses them), text past Excel's 32,767 characters, a
    carrier code no longer known and a currency nobody knows: every row is still written."""
    parcel = register_parcel(api)
    incident = open_incident(api, parcel["id"]).json()
    odd = register_parcel(api, order_id="SO-ODD", tracking_number=UPS_NUMBERS[1])
    open_incident(api, odd["id"])
    with db.session() as session:
        stored = session.get(Incident, uuid.UUID(incident["id"]))
        assert stored is not None
        stored.description = "bell\x07 escape\x1b " + "x" * 40_000
        stored.compensation_amount = Decimal("5.5")
        stored.compensation_currency = "ZZZ"
        session.add(stored)
        gone = session.get(Parcel, uuid.UUID(odd["id"]))
        assert gone is not None
        gone.carrier = "gone_carrier"  # an adapter removed since
        session.add(gone)
        session.commit()

    csv_export = api.get("/v1/incidents/export")
    xlsx_export = api.get("/v1/incidents/export", params={"format": "xlsx"})

    assert csv_export.status_code == 200
    rows = {r["Order ID"]: r for r in read_csv(csv_export.content)}
    assert set(rows) == {"SO-10023", "SO-ODD"}
    assert rows["SO-10023"]["Description"].startswith("bell\x07 escape\x1b xxx")
    assert rows["SO-ODD"]["Carrier"] == "gone_carrier"
    assert xlsx_export.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx_export.content), read_only=True)["Tracker"]
    cells = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    description = str(cells["SO-10023"][COLUMNS.index("Description")])
    assert description.startswith("bell\ufffd escape\ufffd xxx")
    assert len(description) == 32_767
    assert cells["SO-ODD"][COLUMNS.index("Tracking Number")] == UPS_NUMBERS[1]
