"""An XLSX is a ZIP: judged by its directory and read once, bounded, before openpyxl opens it.

A few hundred kilobytes can unpack to gigabytes (a zip bomb), and openpyxl keeps a workbook's
whole shared-strings table in memory. So, before parsing:

1. the sizes the ZIP's central directory declares are summed and the shared strings measured
   against their own cap (``FileTooLarge``, naming the setting);
2. every member is unpacked once in fixed-size chunks, never past the size it declared: a
   member that unpacks to more (or fails its checksum) is refused as damaged;
3. that same pass counts each worksheet's rows (its ``</row>`` ends; a row without cells is
   written ``<row .../>`` and is not counted), so the row cap is checked before any row is read.
"""

from __future__ import annotations

import re
import zipfile
import zlib

from app.tracker_sheet.errors import FileRejected, FileTooLarge, ImportLimits, RowError, megabytes

CHUNK = 256 * 1024
_SHARED_STRINGS = re.compile(r"(^|/)sharedstrings\.xml$", re.IGNORECASE)
_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_ROW_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?row\s*>")


def _damaged(why: str) -> FileRejected:
    return FileRejected([RowError(None, None, f"the workbook is damaged ({why}); export it again")])


def check_directory(archive: zipfile.ZipFile, limits: ImportLimits) -> None:
    """Refuse a workbook whose declared sizes are over the caps; nothing is unpacked."""
    members = archive.infolist()
    unpacked = sum(info.file_size for info in members)
    if unpacked > limits.max_unpacked_bytes:
        raise FileTooLarge(
            f"the workbook unpacks to {megabytes(unpacked)}, more than the "
            f"{megabytes(limits.max_unpacked_bytes)} an import takes "
            "(RT_IMPORT_MAX_UNPACKED_BYTES); split it or save it as CSV",
            setting="RT_IMPORT_MAX_UNPACKED_BYTES",
            limit=limits.max_unpacked_bytes,
        )
    for info in members:
        if _SHARED_STRINGS.search(info.filename) and (
            info.file_size > limits.max_shared_strings_bytes
        ):
            raise FileTooLarge(
                f"the workbook's shared strings unpack to {megabytes(info.file_size)}, more than "
                f"the {megabytes(limits.max_shared_strings_bytes)} an import takes "
                "(RT_IMPORT_MAX_SHARED_STRINGS_BYTES); split it or save it as CSV",
                setting="RT_IMPORT_MAX_SHARED_STRINGS_BYTES",
                limit=limits.max_shared_strings_bytes,
            )


def _rows_in(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Unpack one member in bounded chunks, refusing more bytes than it declared; the rows it
    holds when it is a worksheet (0 otherwise)."""
    counting = bool(_WORKSHEET.match(info.filename))
    rows = 0
    read = 0
    carry = b""
    with archive.open(info) as member:
        while chunk := member.read(CHUNK):
            read += len(chunk)
            if read > info.file_size:
                raise _damaged(f"{info.filename} unpacks to more than it declares")
            if not counting:
                continue
            text = carry + chunk
            cut = text.rfind(b"<")  # a row end holds one "<": none is split at the cut
            cut = len(text) if cut < 0 else cut
            rows += len(_ROW_END.findall(text, 0, cut))
            carry = text[cut:]
    return rows + len(_ROW_END.findall(carry))


def count_rows(archive: zipfile.ZipFile) -> dict[str, int]:
    """Every member read once, honestly (see the module docstring); rows by worksheet path."""
    counts: dict[str, int] = {}
    try:
        for info in archive.infolist():
            if info.is_dir():
                continue
            rows = _rows_in(archive, info)
            if _WORKSHEET.match(info.filename):
                counts[info.filename] = rows
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise _damaged(str(exc) or type(exc).__name__) from None
    return counts


def check_rows(rows: int, limits: ImportLimits) -> None:
    """The data rows (the header is not one) against the cap, before any is read."""
    if rows > limits.max_rows:
        raise FileTooLarge(
            f"the file has {rows:,} rows, more than the {limits.max_rows:,} one import takes "
            "(RT_IMPORT_MAX_ROWS); split it into several files",
            setting="RT_IMPORT_MAX_ROWS",
            limit=limits.max_rows,
        )
