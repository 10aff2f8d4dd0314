"""What an import answers: counts for every row, and its row errors up to a cap.

The answer stays small whatever the file: 50,000 rows are counts, and the row errors listed
stop at ``MAX_LISTED_ERRORS`` (``errors_not_listed`` says how many more there were).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.core.settings import DateOrder
from app.tracker_sheet.errors import RowError

MAX_LISTED_ERRORS = 1_000


@dataclass
class ImportReport:
    """``valid``: new rows that passed every check (what a dry run would import; a real run
    says the same, so both answers compare); ``imported``: rows a real run saved;
    ``already_imported``: rows whose order and tracking number already have an incident here;
    ``failed``: rows not imported, each with at least one error."""

    dry_run: bool
    file_type: str
    date_order: DateOrder
    ignored_columns: list[str]
    max_listed_errors: int = MAX_LISTED_ERRORS
    rows: int = 0
    valid: int = 0
    imported: int = 0
    already_imported: int = 0
    failed: int = 0
    batches: int = 0
    failed_batches: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_not_listed: int = 0

    def add_errors(self, errors: Iterable[RowError]) -> None:
        """List errors in row order until the cap; past it, only count them."""
        for error in sorted(errors, key=lambda e: e.row or 0):
            if len(self.errors) < self.max_listed_errors:
                self.errors.append(error)
            else:
                self.errors_not_listed += 1
