"""The streamed workbook reads back cell for cell as the one openpyxl alone wrote."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from app.tracker_sheet.columns import COLUMNS, CellValue, SheetRow
from app.tracker_sheet.workbook import write_xlsx
from tests.tracker_sheet.openpyxl_reference import write_reference_xlsx

NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
TEXTS: list[str] = [
    "plain",
    "",
    "   ",
    " padded ",
    "two\r\nlines\nand\ra return",
    "&amp; <b>tags</b> > \"quotes\" 'single'",
    '=HYPERLINK("http://attacker.example","open me")',
    "=",
    "#N/A",
    "#DIV/0!",
    "bell\x07 escape\x1b",
    "x" * 40_000,
    "Ünïcödé 顺丰 🚚",
]
VALUES: list[CellValue] = [
    *TEXTS,
    None,
    datetime(2026, 3, 12, 9, 30, 15, 123456, tzinfo=UTC),
    datetime(2026, 3, 12, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1899, 12, 31, 23, 0, tzinfo=UTC),
    datetime(2026, 3, 12, 9, 30, 15, tzinfo=ZoneInfo("Etc/UTC")),  # as PostgreSQL's rows have it
    datetime(1900, 2, 28, 23, 59, 59, tzinfo=UTC),  # before Excel's 1900-02-29
    datetime(1900, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))),  # 1899 in UTC: text
    date(2026, 2, 28),
    date(1900, 1, 1),
    date(1900, 3, 1),
    date(1850, 1, 1),
    Decimal("10"),
    Decimal("1E+1"),
    Decimal("12.5"),
    Decimal("-0.001"),
    True,
    False,
]
AMOUNTS: list[CellValue] = [None, Decimal("59.90"), Decimal("5990"), Decimal("12.346"), "n/a"]
DUES: list[CellValue] = [
    datetime(2026, 3, 20, 8, 0, tzinfo=UTC),
    None,
    datetime(1800, 1, 1, tzinfo=UTC),
]
TRACKING = ["1Z999AA10123456784", "=1+1", "#REF!", "", "a&b<c>"]
URLS = ["https://www.ups.com/track?loc=en_US&tracknum=1Z9", "", 'https://t.example/x?a=1,b="2"']


def _rows(count: int) -> list[SheetRow]:
    """Every value in every column, in turn, with every kind of special cell."""
    rows = []
    for n in range(count):
        values = [VALUES[(n + at) % len(VALUES)] for at in range(len(COLUMNS))]
        values[COLUMNS.index("Tracking Number")] = TRACKING[n % len(TRACKING)]
        values[COLUMNS.index("Compensation Amount")] = AMOUNTS[n % len(AMOUNTS)]
        overdue = n % 3 == 0
        if overdue:
            values[COLUMNS.index("Next Step Deadline")] = DUES[n % len(DUES)]
        rows.append(
            SheetRow(values=tuple(values), tracking_url=URLS[n % len(URLS)], overdue=overdue)
        )
    return rows


def _read(path: str) -> dict[str, Any]:
    workbook = load_workbook(path)
    found: dict[str, Any] = {"sheets": workbook.sheetnames}
    for sheet in workbook.worksheets:
        found[sheet.title] = {
            "freeze": sheet.freeze_panes,
            "filter": sheet.auto_filter.ref,
            "widths": {k: d.width for k, d in sheet.column_dimensions.items()},
            "cells": [
                (
                    cell.coordinate,
                    cell.value,
                    cell.data_type,
                    cell.number_format,
                    cell.hyperlink.target if cell.hyperlink else None,
                    cell.font.b,
                    cell.font.u,
                    cell.font.color.rgb if cell.font.color else None,
                    cell.fill.fill_type,
                    cell.fill.fgColor.rgb,
                )
                for row in sheet.iter_rows()
                for cell in row
            ],
        }
    return found


def test_the_streamed_workbook_is_cell_for_cell_openpyxls() -> None:
    rows = _rows(len(VALUES) * 3)
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = f"{folder}/ours.xlsx", f"{folder}/theirs.xlsx"

        written = write_xlsx(iter([rows[:10], rows[10:]]), ours, exported_at=NOW)
        write_reference_xlsx(iter([rows]), theirs, exported_at=NOW)

        assert written == len(rows)
        assert _read(ours) == _read(theirs)


def test_an_empty_workbook_is_the_header_and_the_about_sheet() -> None:
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = f"{folder}/ours.xlsx", f"{folder}/theirs.xlsx"

        assert write_xlsx(iter([]), ours, exported_at=NOW) == 0
        write_reference_xlsx(iter([]), theirs, exported_at=NOW)

        assert _read(ours) == _read(theirs)
