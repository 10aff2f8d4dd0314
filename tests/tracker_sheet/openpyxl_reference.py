"""The tracker workbook as openpyxl alone wrote it (a cell object per value), kept as the
reference that ``app.tracker_sheet.workbook`` must match cell for cell."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.tracker_sheet.columns import COLUMNS, SheetRow
from app.tracker_sheet.workbook import (
    _AMOUNT_AT,
    _DEADLINE_AT,
    _TRACKING_AT,
    _WIDE,
    HEADER_FONT,
    LINK_FONT,
    OVERDUE_FILL,
    OVERDUE_FONT,
    SHEET_TITLE,
    excel_text,
    excel_value,
)


def _as_text(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    cell = WriteOnlyCell(sheet, value=excel_text(text))
    cell.data_type = "s"
    return cell


def _xlsx_row(sheet: WriteOnlyWorksheet, row: SheetRow) -> list[object]:
    cells: list[object] = [
        _as_text(sheet, v) if isinstance(v, str) and v.startswith("=") else excel_value(v)
        for v in row.values
    ]
    link = WriteOnlyCell(sheet, value=excel_text(str(row.values[_TRACKING_AT])))
    if row.tracking_url:
        link.hyperlink = row.tracking_url
    link.font = LINK_FONT
    cells[_TRACKING_AT] = link
    amount = row.values[_AMOUNT_AT]
    if isinstance(amount, Decimal):
        money = WriteOnlyCell(sheet, value=float(amount))
        exponent = amount.as_tuple().exponent
        digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        money.number_format = "0." + "0" * digits if digits else "0"
        cells[_AMOUNT_AT] = money
    if row.overdue:
        due = excel_value(row.values[_DEADLINE_AT])
        deadline = WriteOnlyCell(sheet, value=due if isinstance(due, datetime) else None)
        deadline.fill = OVERDUE_FILL
        deadline.font = OVERDUE_FONT
        deadline.number_format = "yyyy-mm-dd hh:mm"
        cells[_DEADLINE_AT] = deadline
    return cells


def write_reference_xlsx(
    pages: Iterator[list[SheetRow]], path: str, *, exported_at: datetime
) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDE.get(name, 18)
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = HEADER_FONT
        header.append(cell)
    sheet.append(header)
    count = 0
    for page in pages:
        for row in page:
            sheet.append(_xlsx_row(sheet, row))
        count += len(page)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    about = workbook.create_sheet("About")
    about.append(["Exported at (UTC)", exported_at.astimezone(UTC).replace(tzinfo=None)])
    about.append(["Incidents", count])
    about.append(["Times", "All dates and times are UTC."])
    about.append(["Overdue", "A red Next Step Deadline was overdue when exported."])
    workbook.save(path)
    return count
