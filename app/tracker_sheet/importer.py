"""Importing a tracker spreadsheet: rows checked in Python, written in batches that commit.

The file is read as a stream, ``batch_rows`` rows at a time (``RT_IMPORT_BATCH_ROWS``). Each
batch is checked in Python first (``parse_row``: every problem by row and column), then looked
up and written with a handful of set-based statements (``bulk``) in a transaction of its own,
committed before the next batch is read. Time grows with the rows, memory with one batch, and
no transaction holds the database for longer than a batch.

A batch that fails to save is rolled back alone: each of its rows is reported (row, reason),
the batches before it stay committed and the ones after it still run. Importing is idempotent
on the order and its tracking number: a row whose parcel (same carrier and tracking number,
same order) already has an incident is counted ``already_imported`` and left alone, so running
the same file again, after a failure or not, imports exactly the rows still missing.

A dry run (the default) makes the same checks and lookups, batch by batch, and writes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.core.actors import Actor
from app.core.errors import AppError
from app.core.settings import DateOrder
from app.db.engine import Database
from app.tracker_sheet.bulk import Plan, plan_batch, write_batch
from app.tracker_sheet.columns import TRACKING_NUMBER
from app.tracker_sheet.errors import RowError
from app.tracker_sheet.reader import Table
from app.tracker_sheet.report import MAX_LISTED_ERRORS, ImportReport
from app.tracker_sheet.rows import TrackerRow, parse_row

log = logging.getLogger(__name__)
RawRow = tuple[int, list[object]]


def _batches(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    while batch := list(islice(rows, size)):
        yield batch


def import_table(
    db: Database,
    *,
    tenant_id: uuid.UUID,
    table: Table,
    dry_run: bool,
    actor: Actor,
    now: datetime,
    default_next_step_hours: int,
    date_order: DateOrder = "iso",
    batch_rows: int = 500,
    max_listed_errors: int = MAX_LISTED_ERRORS,
) -> ImportReport:
    """Check every row, and import the valid ones unless ``dry_run``; commits batch by batch.

    ``date_order`` reads dates such as 03/04/2026; ISO dates and XLSX date cells need none.
    """
    report = ImportReport(
        dry_run=dry_run,
        file_type=table.kind,
        date_order=date_order,
        ignored_columns=table.ignored_columns,
        max_listed_errors=max_listed_errors,
    )
    seen: dict[tuple[str, str], int] = {}
    for batch in _batches(table.rows, batch_rows):
        checked = _check(batch, table, report, seen, now=now, date_order=date_order)
        if not checked:
            continue
        report.batches += 1
        if dry_run:
            with db.session() as session:
                plan = plan_batch(session, tenant_id=tenant_id, rows=checked)
            _count(report, plan, created=len(plan.create), dry_run=True)
            continue
        try:
            with db.unit_of_work() as session:
                plan = plan_batch(session, tenant_id=tenant_id, rows=checked)
                created = write_batch(
                    session,
                    tenant_id=tenant_id,
                    plan=plan,
                    actor=actor,
                    now=now,
                    next_step_hours=default_next_step_hours,
                )
        except (SQLAlchemyError, AppError, ValueError) as exc:
            _fail(report, checked, exc)
            continue
        _count(report, plan, created=created, dry_run=False)
    return report


def _check(
    batch: list[RawRow],
    table: Table,
    report: ImportReport,
    seen: dict[tuple[str, str], int],
    *,
    now: datetime,
    date_order: DateOrder,
) -> list[TrackerRow]:
    """The batch's rows that pass every check; the others are counted and reported."""
    checked: list[TrackerRow] = []
    errors: list[RowError] = []
    for number, values in batch:
        report.rows += 1
        row, problems = parse_row(number, table.cells(values), now=now, date_order=date_order)
        if row is not None and row.key in seen:
            problems = [
                RowError(
                    number,
                    TRACKING_NUMBER,
                    f"duplicate of row {seen[row.key]} (same Order ID and Tracking Number)",
                )
            ]
        if row is None or problems:
            report.failed += 1
            errors += problems
            continue
        seen[row.key] = number
        checked.append(row)
    report.add_errors(errors)
    return checked


def _count(report: ImportReport, plan: Plan, *, created: int, dry_run: bool) -> None:
    report.valid += created
    if not dry_run:
        report.imported += created
    report.already_imported += len(plan.already_imported)
    report.failed += len(plan.errors)
    report.add_errors(plan.errors)


def _fail(report: ImportReport, rows: list[TrackerRow], exc: Exception) -> None:
    """A batch that could not be saved: rolled back whole, every row of it reported."""
    first, last = rows[0].row, rows[-1].row
    log.warning("tracker import: rows %d-%d not saved", first, last, exc_info=exc)
    if isinstance(exc, AppError):
        detail = exc.detail
    elif isinstance(exc, IntegrityError):
        detail = "a row conflicts with one saved meanwhile, by another import perhaps"
    else:
        detail = f"the database refused it: {type(exc).__name__}"
    reason = (
        f"not imported: the batch of rows {first}-{last} could not be saved ({detail}); "
        "nothing of it was kept. Import the file again to retry: rows already imported are "
        "recognised and skipped"
    )
    report.failed += len(rows)
    report.failed_batches += 1
    report.add_errors(RowError(row.row, None, reason) for row in rows)
