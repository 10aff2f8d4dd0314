"""What an import can say is wrong: one row's problem, or the file refused whole.

``FileRejected`` (422): the file cannot be a tracker; ``FileTooLarge`` (413): it is over one of
the import's caps, named by its setting, so the seller knows what to split and the operator
what to raise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the spreadsheet row (the header is row 1), the column, why."""

    row: int | None
    column: str | None
    reason: str


class FileRejected(Exception):
    """The file as a whole cannot be imported; nothing was."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(e.reason for e in errors))
        self.errors = errors


class FileTooLarge(FileRejected):
    """Over a cap (``setting`` names it, ``limit`` is its value); refused before any row."""

    def __init__(self, reason: str, *, setting: str, limit: int) -> None:
        super().__init__([RowError(None, None, reason)])
        self.setting = setting
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """The caps of one import, from the settings of the same names (``RT_IMPORT_...``)."""

    max_rows: int = 50_000
    max_unpacked_bytes: int = 50 * 1024 * 1024
    max_shared_strings_bytes: int = 20 * 1024 * 1024


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"
