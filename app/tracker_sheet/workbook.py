"""The tracker as an XLSX workbook: real dates, links, red overdue deadlines, an About sheet.

XLSX is a zip, which cannot be sent before it is complete: the workbook is written to a
temporary file (rows streamed into it, see ``xlsx_sheet``), then sent in chunks and deleted.
Excel has no time zones: times go in as naive UTC (the About sheet says so). Customer text
never runs as a formula: text starting with "=" is written as text.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from app.tracker_sheet.columns import (
    COLUMNS,
    NEXT_STEP_DEADLINE,
    TRACKING_NUMBER,
    CellValue,
    SheetRow,
    csv_cell,
    utc_time,
)
from app.tracker_sheet.xlsx_sheet import (
    SHEET_PART,
    CellText,
    SheetWriter,
    Styles,
    column_letters,
    copy_parts,
    data_text_cell,
    date_cell,
    empty_cell,
    number_cell,
    sheet_head,
    sheet_tail,
    text_cell,
    time_cell,
)

EXCEL_MAX_TEXT = 32_767
EXCEL_FIRST_YEAR = 1900
_CUT = " [cut: longer than Excel holds; the CSV export has it whole]"
CHUNK_BYTES = 64 * 1024
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "Tracker"
ZIP_LEVEL = 1  # deflate's fastest: most of a workbook's time was spent compressing it
_DEADLINE_AT = COLUMNS.index(NEXT_STEP_DEADLINE)
_TRACKING_AT = COLUMNS.index(TRACKING_NUMBER)
_AMOUNT_AT = COLUMNS.index("Compensation Amount")
_SPECIAL = frozenset({_TRACKING_AT, _AMOUNT_AT, _DEADLINE_AT})
_WIDE = {"Internal Action Log": 80, "Communication Summary": 50, "Next Step": 50}
OVERDUE_FILL = PatternFill("solid", fgColor="FFC7CE")
OVERDUE_FONT = Font(color="9C0006", bold=True)
LINK_FONT = Font(color="0563C1", underline="single")
HEADER_FONT = Font(bold=True)
DEADLINE_FORMAT = "yyyy-mm-dd hh:mm"


_ILLEGAL = ILLEGAL_CHARACTERS_RE


def excel_text(text: str) -> str:
    """What an XLSX cell can hold: no control characters (the file would not open; openpyxl
    refuses them) and at most Excel's 32,767 characters."""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    if len(text) > EXCEL_MAX_TEXT:
        return text[: EXCEL_MAX_TEXT - len(_CUT)] + _CUT
    return text


def excel_value(value: CellValue) -> CellValue:
    """Times as naive UTC; a time outside Excel's calendar (before 1900) as its ISO text."""
    if isinstance(value, datetime):
        moment = utc_time(value).replace(tzinfo=None, microsecond=0)
        return moment if moment.year >= EXCEL_FIRST_YEAR else csv_cell(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date) and value.year < EXCEL_FIRST_YEAR:
        return value.isoformat()
    if isinstance(value, str):
        return excel_text(value)
    return value


class _RowCells:
    """A ``SheetRow`` as the XML of its cells."""

    def __init__(self, styles: Styles, writer: SheetWriter) -> None:
        self.styles, self.writer = styles, writer
        self.letters = column_letters(len(COLUMNS))
        self.link_style = styles.id(font=LINK_FONT)
        self.deadline_style = styles.id(
            number_format=DEADLINE_FORMAT, font=OVERDUE_FONT, fill=OVERDUE_FILL
        )
        self.time_styles: dict[type, int] = {}

    def __call__(self, number: int, row: SheetRow) -> list[CellText]:
        cells: list[CellText] = []
        append = cells.append
        suffix = str(number)
        letters = self.letters
        values = row.values
        # one search of the row's text for a control character instead of one per cell
        clean = _ILLEGAL.search("".join([v for v in values if type(v) is str])) is None
        for at, value in enumerate(values):
            if at in _SPECIAL:
                append(self._special(at, letters[at] + suffix, value, row))
            elif value is None:
                continue
            elif type(value) is str:  # most cells: text, never a formula (see data_text_cell)
                if not clean or len(value) > EXCEL_MAX_TEXT:
                    value = excel_text(value)
                append(data_text_cell(letters[at] + suffix, value))
            else:
                append(self._plain(letters[at] + suffix, value))
        return cells

    def _special(self, at: int, ref: str, value: CellValue, row: SheetRow) -> CellText:
        if at == _TRACKING_AT:
            if row.tracking_url:
                self.writer.link(ref, row.tracking_url)
            return text_cell(ref, excel_text(str(value)), self.link_style, as_typed=True)
        if at == _AMOUNT_AT and isinstance(value, Decimal):
            return self._money(ref, value)
        if at == _DEADLINE_AT and row.overdue:
            due = excel_value(value)
            if isinstance(due, datetime):
                return number_cell(ref, due, self.deadline_style)
            return empty_cell(ref, self.deadline_style)
        return self._plain(ref, value) if value is not None else ""

    def _plain(self, ref: str, value: CellValue) -> CellText:
        if type(value) is datetime:
            if not value.utcoffset() and value.year >= EXCEL_FIRST_YEAR:
                # in UTC already (or naive, taken as UTC): excel_value's moment, as it is
                return time_cell(ref, value, self._time_style(value))
        elif type(value) is date and value.year >= EXCEL_FIRST_YEAR:
            return date_cell(ref, value, self._time_style(value))
        if isinstance(value, str) and value.startswith("="):  # text, never a formula
            return text_cell(ref, excel_text(value))
        shown = excel_value(value)
        if isinstance(shown, str):
            return text_cell(ref, shown, as_typed=True)
        if isinstance(shown, date):
            return number_cell(ref, shown, self.styles.time(shown))
        assert isinstance(shown, Decimal)
        return number_cell(ref, shown)

    def _time_style(self, value: date) -> int:
        found = self.time_styles.get(type(value))
        if found is None:  # asked for when first used, as before: style ids keep their order
            found = self.time_styles[type(value)] = self.styles.time(value)
        return found

    def _money(self, ref: str, amount: Decimal) -> CellText:
        """Shown with its currency's minor units (59.90, 5990); Excel keeps doubles."""
        exponent = amount.as_tuple().exponent
        digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        style = self.styles.id(number_format="0." + "0" * digits if digits else "0")
        return number_cell(ref, float(amount), style)


def write_xlsx(pages: Iterator[list[SheetRow]], path: str, *, exported_at: datetime) -> int:
    """Write the tracker workbook to ``path``; the number of incident rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    widths = [float(_WIDE.get(name, 18)) for name in COLUMNS]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    styles = Styles(sheet)
    header_style = styles.id(font=HEADER_FONT)
    letters = column_letters(len(COLUMNS))
    header = [
        text_cell(f"{letter}1", name, header_style, as_typed=True)
        for letter, name in zip(letters, COLUMNS, strict=True)
    ]
    count = 0
    with (
        tempfile.TemporaryDirectory(prefix="rt-workbook-") as folder,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive,
    ):
        writer = SheetWriter(folder, sheet_head(widths, header))
        cells = _RowCells(styles, writer)
        for page in pages:
            for row in page:
                count += 1
                writer.row(count + 1, cells(count + 1, row))
        sheet.auto_filter.ref = f"A1:{letters[-1]}{count + 1}"
        writer.close(archive, sheet_tail(sheet.auto_filter.ref))
        about = workbook.create_sheet("About")
        about.append(["Exported at (UTC)", exported_at.astimezone(UTC).replace(tzinfo=None)])
        about.append(["Incidents", count])
        about.append(["Times", "All dates and times are UTC."])
        about.append(["Overdue", "A red Next Step Deadline was overdue when exported."])
        rest = os.path.join(folder, "rest.xlsx")
        workbook.save(rest)
        copy_parts(rest, archive, leave_out={SHEET_PART})
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
