"""The tracker import reads the seller's date order: 03/04/2026 is 3 April (dmy, the default)
or 4 March (mdy); ISO dates and XLSX date cells need no order; nothing is guessed."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from tests.factories import UPS_NUMBERS, ApiClient, FakeClock, new_api_key

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["Order ID", "Tracking Number", "Carrier", "Order Date", "Customer Reported Date"]


def csv_sheet(*rows: tuple[str, str]) -> bytes:
    """Rows of (Order Date, Customer Reported Date), one parcel each."""
    lines = [",".join(HEADER)]
    for index, (ordered, reported) in enumerate(rows):
        lines.append(f"SO-{index + 1},{UPS_NUMBERS[index]},UPS,{ordered},{reported}")
    return ("\n".join(lines) + "\n").encode()


def xlsx_sheet(*rows: tuple[object, object]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for index, (ordered, reported) in enumerate(rows):
        sheet.append([f"SO-{index + 1}", UPS_NUMBERS[index], "UPS", ordered, reported])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_import(
    api: ApiClient, content: bytes, *, dry_run: bool = True, **params: str
) -> dict[str, Any]:
    is_xlsx = content.startswith(b"PK")
    response = api.post(
        "/v1/incidents/import",
        params={"dry_run": str(dry_run).lower(), **params},
        content=content,
        headers={"Content-Type": XLSX if is_xlsx else "text/csv"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def imported(api: ApiClient) -> dict[str, tuple[str, str]]:
    """Order ID -> (order date, customer reported at) of the tenant's incidents."""
    items = api.get("/v1/incidents").json()["items"]
    return {i["order_id"]: (i["order_date"], i["customer_reported_at"]) for i in items}


def test_a_day_first_sheet_imports_by_default_and_the_report_says_so(api: ApiClient) -> None:
    sheet = csv_sheet(("03/04/2026", "07.03.2026"), ("2026-03-01", "08-03-2026 14:30+01:00"))

    dry = run_import(api, sheet)
    real = run_import(api, sheet, dry_run=False)

    assert (dry["date_order"], dry["valid"], dry["errors"]) == ("dmy", 2, [])
    assert (real["date_order"], real["imported"]) == ("dmy", 2)
    assert imported(api) == {
        "SO-1": ("2026-04-03", "2026-03-07T00:00:00Z"),
        "SO-2": ("2026-03-01", "2026-03-08T13:30:00Z"),
    }


def test_the_request_chooses_month_first(api: ApiClient) -> None:
    report = run_import(
        api, csv_sheet(("03/04/2026", "03/11/2026")), dry_run=False, date_order="mdy"
    )

    assert (report["date_order"], report["imported"]) == ("mdy", 1)
    assert imported(api) == {"SO-1": ("2026-03-04", "2026-03-11T00:00:00Z")}


def test_an_impossible_date_is_a_row_error_naming_its_column(api: ApiClient) -> None:
    report = run_import(api, csv_sheet(("13/13/2026", "01/03/2026"), ("03/04/2026", "04/25/2026")))

    assert (report["valid"], report["failed"]) == (0, 2)
    assert report["errors"] == [
        {
            "row": 2,
            "column": "Order Date",
            "reason": "'13/13/2026' is not a date in day/month/year order",
        },
        {
            "row": 3,
            "column": "Customer Reported Date",
            "reason": "'04/25/2026' is not a date in day/month/year order (it is one in "
            "month/day/year: import with date_order=mdy)",
        },
    ]


def test_the_iso_order_refuses_slashed_dates_but_reads_iso_and_year_first(
    api: ApiClient,
) -> None:
    report = run_import(
        api, csv_sheet(("2026/03/01", "2026-03-07T10:00:00Z"), ("03/04/2026", "")), date_order="iso"
    )

    assert (report["date_order"], report["valid"], report["failed"]) == ("iso", 1, 1)
    [error] = report["errors"]
    assert (error["row"], error["column"]) == (3, "Order Date")
    assert "date_order=dmy or date_order=mdy" in error["reason"]


def test_a_date_order_that_does_not_exist_is_refused_naming_the_parameter(
    api: ApiClient,
) -> None:
    response = api.post(
        "/v1/incidents/import",
        params={"date_order": "ymd"},
        content=csv_sheet(("2026-03-01", "")),
        headers={"Content-Type": "text/csv"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["in"]) for e in response.json()["errors"]] == [("date_order", "query")]


def test_an_xlsx_reads_real_date_cells_without_an_order_and_text_cells_with_it(
    api: ApiClient, clock: FakeClock
) -> None:
    workbook = xlsx_sheet(
        (datetime(2026, 3, 4), datetime(2026, 3, 10, 8, 15)),  # real date cells
        ("03/04/2026", "03/11/2026"),  # text cells, as a sheet typed by hand often has
    )

    report = run_import(api, workbook, dry_run=False, date_order="mdy")

    assert (report["file_type"], report["date_order"], report["imported"]) == ("xlsx", "mdy", 2)
    assert imported(api) == {
        "SO-1": ("2026-03-04", "2026-03-10T08:15:00Z"),
        "SO-2": ("2026-03-04", "2026-03-11T00:00:00Z"),
    }


@pytest.mark.parametrize(("order", "read_as"), [("dmy", "2026-04-03"), ("mdy", "2026-03-04")])
def test_the_default_order_is_a_setting(
    db: Database, clock: FakeClock, settings: Settings, order: str, read_as: str
) -> None:
    configured = settings.model_copy(update={"import_date_order": order})
    with TestClient(create_app(configured, database=db, clock=clock)) as client:
        api = ApiClient(client, new_api_key(db, tenant="acme", name="importer"))

        report = run_import(api, csv_sheet(("03/04/2026", "")), dry_run=False)

        assert report["date_order"] == order
        assert imported(api)["SO-1"][0] == read_as


def test_a_time_whose_utc_overflows_is_a_row_error_not_a_server_error(api: ApiClient) -> None:
    """Seen: ``9999-12-31T23:59:59-14:00`` is past the last moment Python holds once in UTC."""
    sheet = csv_sheet(
        ("2026-03-01", "9999-12-31T23:59:59-14:00"),
        ("0001-01-01T00:00:00+14:00", "2026-03-10T10:00:00Z"),
    )

    report = run_import(api, sheet, dry_run=False)

    assert (report["imported"], report["failed"]) == (0, 2)
    assert [(e["row"], e["column"], e["reason"]) for e in report["errors"]] == [
        (
            2,
            "Customer Reported Date",
            "'9999-12-31T23:59:59-14:00' is outside the years 1970-2100 (in UTC) that a time "
            "may have",
        ),
        (
            3,
            "Order Date",
            "'0001-01-01T00:00:00+14:00' is outside the years 1970-2100 (in UTC) that a time "
            "may have",
        ),
    ]


@pytest.mark.parametrize(
    ("ordered", "reported", "column"),
    [
        ("1969-12-31", "", "Order Date"),
        ("2026-03-01", "2101-01-01T00:00:00Z", "Customer Reported Date"),
        (datetime(1950, 6, 1), "", "Order Date"),  # an XLSX date cell
    ],
)
def test_dates_outside_1970_to_2100_are_refused_naming_the_range(
    api: ApiClient, ordered: object, reported: str, column: str
) -> None:
    is_cell = isinstance(ordered, datetime)
    content = xlsx_sheet((ordered, reported)) if is_cell else csv_sheet((str(ordered), reported))

    report = run_import(api, content)

    [error] = report["errors"]
    assert (error["row"], error["column"]) == (2, column)
    assert "outside the years 1970-2100" in error["reason"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("9999-12-31 23:59 -14:00 | anna | note | x", "outside the years 1970-2100"),
        ("2026-13-45 10:00 UTC | anna | note | x", "has an impossible time"),
    ],
)
def test_an_action_log_line_with_an_impossible_time_is_a_row_error(
    api: ApiClient, line: str, reason: str
) -> None:
    content = (
        f"Order ID,Tracking Number,Carrier,Internal Action Log\nSO-1,{UPS_NUMBERS[0]},UPS,{line}\n"
    ).encode()

    report = run_import(api, content, dry_run=False)

    [error] = report["errors"]
    assert (error["row"], error["column"]) == (2, "Internal Action Log")
    assert reason in error["reason"]
