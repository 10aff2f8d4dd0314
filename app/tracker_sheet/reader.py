"""Reading a tracker spreadsheet for import: the file, its header row, then each row checked.

Pure, no database: ``read_table`` turns the uploaded bytes (CSV or XLSX, told apart by their
content, not their name) into a header and an iterator of rows; ``parse_row`` (in
``tracker_rows``) checks one row and names every problem by row number and column.

A file that cannot be a tracker at all (empty, binary, not UTF-8, an unreadable workbook, a
missing Order ID or Tracking Number column) is refused whole with ``FileRejected``, and a
file over a cap (rows; an XLSX's unpacked size, see ``workbook_guard``) with ``FileTooLarge``,
both before any row is read; anything wrong inside a row only costs that row.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from openpyxl import load_workbook

from app.tracker_sheet.columns import COLUMNS, ORDER_ID, TRACKING_NUMBER
from app.tracker_sheet.errors import FileRejected, ImportLimits, RowError
from app.tracker_sheet.workbook_guard import check_directory, check_rows, count_rows

MAX_IMPORT_BYTES = 20 * 1024 * 1024
REQUIRED_COLUMNS = (ORDER_ID, TRACKING_NUMBER)
_ZIP_MAGIC = b"PK\x03\x04"
_OTHER_FORMATS = {
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook: save it as .xlsx or 'CSV UTF-8'",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
_HEADER_SPACES = re.compile(r"\s+")
_HEADER_NOTE = re.compile(r"\s*\(.*\)\s*$")  # "Customer Contact (email, ticket)"
_BY_NAME = {name.lower(): name for name in COLUMNS}


@dataclass
class Table:
    """The header's known columns (by position) and the data rows, read lazily."""

    kind: Literal["csv", "xlsx"]
    columns: dict[int, str]
    rows: Iterator[tuple[int, list[object]]]
    ignored_columns: list[str] = field(default_factory=list)

    def cells(self, values: list[object]) -> dict[str, object]:
        return {name: values[i] if i < len(values) else None for i, name in self.columns.items()}


def _reject(reason: str, *, row: int | None = None, column: str | None = None) -> FileRejected:
    return FileRejected([RowError(row=row, column=column, reason=reason)])


def canonical_column(header: object) -> str | None:
    """Our column name for a header cell, ignoring case, spacing and a bracketed note."""
    text = _HEADER_SPACES.sub(" ", str(header or "")).strip()
    return _BY_NAME.get(text.lower()) or _BY_NAME.get(_HEADER_NOTE.sub("", text).lower())


def _columns(header: list[object]) -> tuple[dict[int, str], list[str]]:
    columns: dict[int, str] = {}
    ignored: list[str] = []
    errors: list[RowError] = []
    for index, raw in enumerate(header):
        name = canonical_column(raw)
        if name is None:
            if str(raw or "").strip():
                ignored.append(str(raw).strip())
        elif name in columns.values():
            errors.append(RowError(1, name, f"the column '{name}' appears twice"))
        else:
            columns[index] = name
    errors += [
        RowError(1, name, f"required column '{name}' is missing; the header row must name it")
        for name in REQUIRED_COLUMNS
        if name not in columns.values()
    ]
    if errors:
        raise FileRejected(errors)
    return columns, ignored


def _non_empty(rows: Iterator[tuple[int, list[object]]]) -> Iterator[tuple[int, list[object]]]:
    for number, values in rows:
        if any(v is not None and str(v).strip() for v in values):
            yield number, values


def read_table(content: bytes, limits: ImportLimits | None = None) -> Table:
    """Recognise the file by its bytes and read its header row; the caps (``limits``: rows,
    and for XLSX its unpacked sizes) are checked here, before any row is read."""
    limits = limits or ImportLimits()
    if not content.strip():
        raise _reject("the file is empty")
    if content.startswith(_ZIP_MAGIC):
        return _read_xlsx(content, limits)
    for magic, what in _OTHER_FORMATS.items():
        if content.startswith(magic):
            raise _reject(f"this is {what}, not a CSV or XLSX tracker")
    if b"\x00" in content[:4096]:
        raise _reject("this is a binary file, not a CSV or XLSX tracker")
    return _read_csv(content, limits)


def _count_csv_rows(text: str, delimiter: str) -> int:
    """The data rows that hold anything, counted in one streaming pass (nothing kept); a
    malformed file is refused here, before any row is imported."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = 0
    try:
        next(reader, None)  # the header
        for values in reader:
            if any(v.strip() for v in values):
                rows += 1
    except csv.Error as exc:
        raise _reject(f"the CSV is malformed: {exc}", row=reader.line_num) from None
    return rows


def _read_csv(content: bytes, limits: ImportLimits) -> Table:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _reject(
            f"the file is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'"
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    check_rows(_count_csv_rows(text, delimiter), limits)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header: list[object] = list(next(reader))
    except (StopIteration, csv.Error):
        raise _reject("the file has no header row") from None
    columns, ignored = _columns(header)

    def rows() -> Iterator[tuple[int, list[object]]]:
        try:
            for number, values in enumerate(reader, start=2):
                yield number, list(values)
        except csv.Error as exc:
            raise _reject(f"the CSV is malformed: {exc}", row=reader.line_num) from None

    return Table("csv", columns, _non_empty(rows()), ignored)


def _read_xlsx(content: bytes, limits: ImportLimits) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_directory(archive, limits)
            rows_by_sheet = count_rows(archive)
    except zipfile.BadZipFile:
        raise _reject("the file looks like a zip but is damaged; export the XLSX again") from None
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for files that are not workbooks
        raise _reject(f"the file is not a readable XLSX workbook ({type(exc).__name__})") from None
    sheet = workbook["Tracker"] if "Tracker" in workbook.sheetnames else workbook.worksheets[0]
    numbered = enumerate(sheet.iter_rows(values_only=True), start=1)
    first = next(numbered, None)
    if first is None:
        workbook.close()
        raise _reject("the workbook's first sheet is empty")
    # openpyxl keeps the sheet's part name private; any sheet's count is the fallback bound
    path = str(getattr(sheet, "_worksheet_path", "")).lstrip("/")
    rows = rows_by_sheet.get(path, max(rows_by_sheet.values(), default=0))
    try:
        check_rows(rows - 1, limits)
        columns, ignored = _columns(list(first[1]))
    except FileRejected:
        workbook.close()
        raise

    def rows_of() -> Iterator[tuple[int, list[object]]]:
        number = 1
        try:
            for number, values in numbered:
                yield number, list(values)
        except (zipfile.BadZipFile, ValueError, KeyError, TypeError) as exc:
            raise _reject(f"the workbook is damaged ({type(exc).__name__})", row=number) from None
        finally:
            workbook.close()

    return Table("xlsx", columns, _non_empty(rows_of()), ignored)
