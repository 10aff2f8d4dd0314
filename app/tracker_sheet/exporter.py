"""Streaming the tracker: pages of incidents from the database, written as CSV or XLSX.

Memory stays flat whatever the number of incidents: rows are read a page at a time (the
list's keyset order, each page in its own short session, its timeline entries in one query),
and written straight out. CSV goes to the client page by page. XLSX is a zip, which cannot be
sent before it is complete, so openpyxl's write-only workbook spools rows to a temporary file
and the finished file is streamed, then deleted.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.db.engine import Database
from app.incidents import queries as incident_queries
from app.incidents.models import Incident, TimelineEntry
from app.incidents.views import format_number
from app.parcels.models import Parcel
from app.tracker_sheet.columns import (
    COLUMNS,
    NEXT_STEP_DEADLINE,
    ORDER_ID,
    TRACKING_NUMBER,
    CellValue,
    SheetRow,
    csv_cell,
    sheet_row,
    utc_time,
)
from app.tracker_sheet.communication import communication_cell
from app.workflow.messages.models import CustomerMessage

log = logging.getLogger(__name__)
PAGE_SIZE = 500
EXCEL_MAX_TEXT = 32_767
EXCEL_FIRST_YEAR = 1900
_CUT = " [cut: longer than Excel holds; the CSV export has it whole]"
CHUNK_BYTES = 64 * 1024
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
SHEET_TITLE = "Tracker"
_DEADLINE_AT = COLUMNS.index(NEXT_STEP_DEADLINE)
_TRACKING_AT = COLUMNS.index(TRACKING_NUMBER)
_AMOUNT_AT = COLUMNS.index("Compensation Amount")
_WIDE = {"Internal Action Log": 80, "Communication Summary": 50, "Next Step": 50}
OVERDUE_FILL = PatternFill("solid", fgColor="FFC7CE")
OVERDUE_FONT = Font(color="9C0006", bold=True)
LINK_FONT = Font(color="0563C1", underline="single")
HEADER_FONT = Font(bold=True)


def sheet_pages(
    db: Database,
    *,
    tenant_id: uuid.UUID,
    filters: incident_queries.IncidentFilters,
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[SheetRow]]:
    """Every matching incident as tracker rows, newest first, one page at a time."""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        with db.session() as session:
            rows = incident_queries.list_incidents(
                session, tenant_id=tenant_id, filters=filters, now=now, after=after, limit=page_size
            )
            if not rows:
                return
            entries: dict[uuid.UUID, list[TimelineEntry]] = {}
            for entry in session.exec(
                select(TimelineEntry).where(
                    col(TimelineEntry.incident_id).in_([i.id for i, _ in rows])
                )
            ):
                entries.setdefault(entry.incident_id, []).append(entry)
            told = _messages(session, rows)
            page = [
                _row_or_stub(
                    i,
                    p,
                    entries.get(i.id, []),
                    now=now,
                    messages=told.get(i.id, []) + told.get(p.id, []),
                )
                for i, p in rows
            ]
        yield page
        if len(rows) < page_size:
            return
        last = rows[-1][0]
        after = (last.opened_at, last.id)


def _messages(
    session: Session, rows: Sequence[tuple[Incident, Parcel]]
) -> dict[uuid.UUID, list[CustomerMessage]]:
    """One query per page: each incident's messages (by incident id) and each parcel's
    messages outside any incident (by parcel id)."""
    found: dict[uuid.UUID, list[CustomerMessage]] = {}
    for message in session.exec(
        select(CustomerMessage).where(
            or_(
                col(CustomerMessage.incident_id).in_([i.id for i, _ in rows]),
                and_(
                    col(CustomerMessage.parcel_id).in_({p.id for _, p in rows}),
                    col(CustomerMessage.incident_id).is_(None),
                ),
            )
        )
    ):
        found.setdefault(message.incident_id or message.parcel_id, []).append(message)
    return found


def _row_or_stub(
    incident: Incident,
    parcel: Parcel,
    entries: list[TimelineEntry],
    *,
    now: datetime,
    messages: list[CustomerMessage],
) -> SheetRow:
    """The incident's row; if a stored value cannot be written, a row that still names the
    incident (logged), so one odd row never cuts the stream the client is already reading."""
    try:
        cell = communication_cell(incident.communication_summary, messages)
        return sheet_row(incident, parcel, entries, now=now, communication=cell)
    except Exception:  # the stream has started: an exception here would truncate the file
        log.exception("tracker export: incident %s written as a stub row", incident.id)
    values: list[CellValue] = [None] * len(COLUMNS)
    for name, value in (
        (ORDER_ID, parcel.order_id),
        (TRACKING_NUMBER, parcel.tracking_number),
        ("Incident Number", format_number(incident.number)),
        ("Incident ID", str(incident.id)),
        ("Description", "This row could not be exported whole; open the incident in the API."),
    ):
        values[COLUMNS.index(name)] = value
    return SheetRow(values=tuple(values), tracking_url="", overdue=False)


def csv_chunks(pages: Iterator[list[SheetRow]]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, so Excel opens accents and non-Latin names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    for page in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([csv_cell(value) for value in row.values] for row in page)
        yield buffer.getvalue().encode()


def _excel_text(text: str) -> str:
    """What an XLSX cell can hold: no control characters (the file would not open; openpyxl
    refuses them) and at most Excel's 32,767 characters."""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    if len(text) > EXCEL_MAX_TEXT:
        return text[: EXCEL_MAX_TEXT - len(_CUT)] + _CUT
    return text


def _excel_value(value: CellValue) -> CellValue:
    """Excel has no time zones: times go in as naive UTC (the About sheet says so); a time
    outside Excel's calendar (before 1900) goes in as its ISO 8601 text."""
    if isinstance(value, datetime):
        moment = utc_time(value).replace(tzinfo=None, microsecond=0)
        return moment if moment.year >= EXCEL_FIRST_YEAR else csv_cell(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date) and value.year < EXCEL_FIRST_YEAR:
        return value.isoformat()
    if isinstance(value, str):
        return _excel_text(value)
    return value


def _as_text(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    """openpyxl stores "=..." as a formula; customer text must never run in the seller's Excel."""
    cell = WriteOnlyCell(sheet, value=_excel_text(text))
    cell.data_type = "s"
    return cell


def _xlsx_row(sheet: WriteOnlyWorksheet, row: SheetRow) -> list[object]:
    cells: list[object] = [
        _as_text(sheet, v) if isinstance(v, str) and v.startswith("=") else _excel_value(v)
        for v in row.values
    ]
    link = WriteOnlyCell(sheet, value=_excel_text(str(row.values[_TRACKING_AT])))
    if row.tracking_url:
        link.hyperlink = row.tracking_url
    link.font = LINK_FONT
    cells[_TRACKING_AT] = link
    amount = row.values[_AMOUNT_AT]
    if isinstance(amount, Decimal):  # shown with its currency's minor units (59.90, 5990)
        money = WriteOnlyCell(sheet, value=float(amount))  # Excel keeps numbers as doubles
        exponent = amount.as_tuple().exponent
        digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        money.number_format = "0." + "0" * digits if digits else "0"
        cells[_AMOUNT_AT] = money
    if row.overdue:
        due = _excel_value(row.values[_DEADLINE_AT])
        deadline = WriteOnlyCell(sheet, value=due if isinstance(due, datetime) else None)
        deadline.fill = OVERDUE_FILL
        deadline.font = OVERDUE_FONT
        deadline.number_format = "yyyy-mm-dd hh:mm"
        cells[_DEADLINE_AT] = deadline
    return cells


def write_xlsx(pages: Iterator[list[SheetRow]], path: str, *, exported_at: datetime) -> int:
    """Write the tracker workbook to ``path``; the number of incident rows written."""
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


def xlsx_chunks(pages: Iterator[list[SheetRow]], *, exported_at: datetime) -> Iterator[bytes]:
    """Build the workbook in a temporary file, then send it in chunks and delete it."""
    handle, path = tempfile.mkstemp(prefix="rt-export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(pages, path, exported_at=exported_at)
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def export_filename(extension: str, now: datetime) -> str:
    return f"incidents-{now.astimezone(UTC):%Y-%m-%d}.{extension}"
