"""The tracker workbook, written fast: our own XML for the Tracker sheet's rows, openpyxl for
everything else.

openpyxl's write-only workbook builds a cell object per value and serialises it element by
element, some 15 microseconds a cell: 1,670 rows a second at best. Here each row is one
string, written as openpyxl writes it (inline strings, numbers as ``%.16g``, times as Excel
serials, the same rules for text that looks like a formula or an error code), spooled as it
comes; links go to a spooled file and join the sheet at its end. Memory
does not grow with the rows.

openpyxl still writes the rest (styles, the workbook, the About sheet, the header), from the
same calls as before: its style registry gives each cell's style id, and its output is
copied in but for the Tracker sheet's part, which is ours. The result reads back cell for
cell as the workbook openpyxl alone wrote (tests/tracker_sheet/test_xlsx_sheet.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, TIME_FORMATS
from openpyxl.styles import Fill, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

SHEET_PART = "xl/worksheets/sheet1.xml"
RELS_PART = "xl/worksheets/_rels/sheet1.xml.rels"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_LINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
_FLUSH_CHARS = 1 << 20
# what ElementTree escapes in an attribute besides & < > and the quote
_ATTRIBUTE_ENTITIES = {"\n": "&#10;", "\r": "&#13;", "\t": "&#09;"}
CellText = str  # one cell's XML


def text_cell(ref: str, text: str, style: int = 0, *, as_typed: bool = False) -> CellText:
    """A string cell as openpyxl writes it: inline; with ``as_typed``, "=..." is a formula and
    "#N/A" an error, as openpyxl makes them of a plain value (the export forces text where
    it must, see ``exporter``)."""
    styled = f' s="{style}"' if style else ""
    if as_typed and len(text) > 1 and text.startswith("="):
        return f'<c r="{ref}"{styled}><f>{escape(text[1:])}</f><v /></c>'
    if as_typed and text in ERROR_CODES:
        return f'<c r="{ref}"{styled} t="e"><v>{escape(text)}</v></c>'
    if not text:
        return f'<c r="{ref}"{styled} t="inlineStr" />'
    stripped = text.strip()
    space = ' xml:space="preserve"' if stripped and stripped != text else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


_ERRORS = frozenset(ERROR_CODES)
_ESCAPED = ("&", "<", ">")


def data_text_cell(ref: str, text: str) -> CellText:
    """``text_cell(ref, text, as_typed=True)`` for text that is not a formula (data cells:
    the export writes "=..." as text), with one call per cell instead of four: the export's
    2 million text cells spent most of the workbook's time in the calls."""
    if not text:
        return f'<c r="{ref}" t="inlineStr" />'
    if text in _ERRORS:
        return f'<c r="{ref}" t="e"><v>{text}</v></c>'  # nothing to escape in these
    stripped = text.strip()
    space = ' xml:space="preserve"' if stripped and stripped != text else ""
    if "&" in text or "<" in text or ">" in text:
        text = escape(text)
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()  # openpyxl's WINDOWS_EPOCH
_LEAP_BUG_DAYS = 60  # Excel's 1900-02-29: openpyxl shifts the days before it by one


def time_cell(ref: str, moment: datetime, style: int) -> CellText:
    """``number_cell(ref, moment, style)`` for a time without microseconds, from its fields
    (``to_excel`` makes a timedelta and calls four functions for the same figure)."""
    days = moment.toordinal() - _EPOCH_ORDINAL
    if 0 < days <= _LEAP_BUG_DAYS:
        days -= 1
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return f'<c r="{ref}" s="{style}" t="n"><v>{days + seconds / 86400:.16g}</v></c>'


def date_cell(ref: str, day: date, style: int) -> CellText:
    """``number_cell(ref, day, style)`` for a date (a whole Excel serial)."""
    days = day.toordinal() - _EPOCH_ORDINAL
    if 0 < days <= _LEAP_BUG_DAYS:
        days -= 1
    return f'<c r="{ref}" s="{style}" t="n"><v>{float(days):.16g}</v></c>'


def number_cell(ref: str, value: float | Decimal | date, style: int = 0) -> CellText:
    """A number, or a date or time as its Excel serial (the style gives its format)."""
    number = to_excel(value) if isinstance(value, date) else value  # type: ignore[no-untyped-call]
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{styled} t="n"><v>{float(number):.16g}</v></c>'  # as "%.16g" % number


def empty_cell(ref: str, style: int) -> CellText:
    return f'<c r="{ref}" s="{style}" t="n" />'


class Styles:
    """Style ids from openpyxl's registry of the workbook it will write (so its styles part
    lists every style our cells name)."""

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self.sheet = sheet
        self._ids: dict[tuple[Any, ...], int] = {}

    def id(
        self,
        *,
        number_format: str | None = None,
        font: Font | None = None,
        fill: Fill | None = None,
    ) -> int:
        key = (number_format, font, fill)
        found = self._ids.get(key)
        if found is None:
            cell = WriteOnlyCell(self.sheet)
            if number_format is not None:
                cell.number_format = number_format
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            found = self._ids[key] = cell.style_id if cell.has_style else 0
        return found

    def time(self, value: date) -> int:
        return self.id(number_format=TIME_FORMATS[type(value)])


class SheetWriter:
    """The Tracker sheet's part, rows appended as they come, spooled to files in ``folder``
    (as openpyxl spools it): ``close`` adds it, and its links' part, to the archive, whose
    zip then knows each part's size (ZIP64 only where a part needs it)."""

    def __init__(self, folder: str, head: str) -> None:
        self._sheet_path = os.path.join(folder, "sheet.xml")
        self._rels_path = os.path.join(folder, "sheet.xml.rels")
        # closed in close(): they outlive this call
        self._sheet: IO[str] = open(self._sheet_path, "w", encoding="utf-8")  # noqa: SIM115
        self._links: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder)  # noqa: SIM115
        self._targets: IO[str] = open(self._rels_path, "w", encoding="utf-8")  # noqa: SIM115
        self._targets.write(f'<Relationships xmlns="{_PACKAGE_RELS}">')
        self._count = 0
        self._pending: list[str] = [head]
        self._size = 0

    def row(self, number: int, cells: list[CellText]) -> None:
        text = f'<row r="{number}">{"".join(cells)}</row>'
        self._pending.append(text)
        self._size += len(text)
        if self._size >= _FLUSH_CHARS:
            self._flush()

    def link(self, ref: str, target: str) -> None:
        self._count += 1
        self._links.write(f'<hyperlink ref="{ref}" r:id="rId{self._count}" />')
        self._targets.write(
            f'<Relationship Type="{_LINK}" Target={quoteattr(target, _ATTRIBUTE_ENTITIES)} '
            f'TargetMode="External" Id="rId{self._count}" />'
        )

    def _flush(self) -> None:
        self._sheet.write("".join(self._pending))
        self._pending.clear()
        self._size = 0

    def close(self, archive: zipfile.ZipFile, tail: str) -> None:
        """``tail``: the sheet after its rows, with ``{links}`` where the links go."""
        before, _, after = tail.partition("{links}")
        self._pending.append(before)
        if self._count:
            self._pending.append(f'<hyperlinks xmlns:r="{_R}">')
            self._flush()
            self._links.seek(0)
            shutil.copyfileobj(self._links, self._sheet, _FLUSH_CHARS)
            self._pending.append("</hyperlinks>")
        self._pending.append(after)
        self._flush()
        self._targets.write("</Relationships>")
        for spool in (self._sheet, self._links, self._targets):
            spool.close()
        archive.write(self._sheet_path, SHEET_PART)
        if self._count:
            archive.write(self._rels_path, RELS_PART)


def sheet_head(widths: list[float], header: list[CellText]) -> str:
    """The Tracker sheet up to its first data row, as openpyxl writes it: the first row
    frozen, the columns' widths, the header row."""
    cols = "".join(
        f'<col width="{width:g}" customWidth="1" min="{n}" max="{n}" />'
        for n, width in enumerate(widths, start=1)
    )
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetPr><outlinePr summaryBelow="1" summaryRight="1" /><pageSetUpPr /></sheetPr>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen" /><selection pane="bottomLeft" '
        'activeCell="A1" sqref="A1" /></sheetView></sheetViews>'
        '<sheetFormatPr baseColWidth="8" defaultRowHeight="15" />'
        f'<cols>{cols}</cols><sheetData><row r="1">{"".join(header)}</row>'
    )


def sheet_tail(filter_ref: str) -> str:
    return (
        f'</sheetData><autoFilter ref="{filter_ref}" />{{links}}'
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5" />'
        "</worksheet>"
    )


def copy_parts(source: str, archive: zipfile.ZipFile, *, leave_out: set[str]) -> None:
    """Every part of the workbook openpyxl wrote at ``source`` but ``leave_out``."""
    with zipfile.ZipFile(source) as written:
        for info in written.infolist():
            if info.filename in leave_out:
                continue
            with written.open(info) as part, archive.open(info.filename, "w") as copy:
                shutil.copyfileobj(part, copy)


def column_letters(count: int) -> list[str]:
    return [get_column_letter(n) for n in range(1, count + 1)]
