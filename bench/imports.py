"""The tracker import on PostgreSQL: 1k, 5k, 10k and 50k-row CSVs, dry run and real import.

Figures: seconds per size for each, and how the time per row at the largest size compares to
the smallest (1.0 is perfectly linear; a per-row savepoint in one long transaction made it
grow with the rows). Goals: a 50,000-row dry run in ≤ 20 s and a real import in ≤ 60 s.
Each size imports into a tenant of its own, in a throw-away database; a re-run of the largest
file must find every row already imported.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime

from app.core.actors import Actor
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.tracker_sheet.columns import TRACKER_COLUMNS
from app.tracker_sheet.errors import ImportLimits
from app.tracker_sheet.importer import import_table
from app.tracker_sheet.reader import read_table
from app.tracker_sheet.report import ImportReport
from bench.figures import Figure
from bench.pg import throwaway_database

NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
SIZES = (1_000, 5_000, 10_000, 50_000)
QUICK_SIZES = (200, 1_000)
DRY_GOAL_S = 20.0
REAL_GOAL_S = 60.0
LINEAR_GOAL = 1.5


def tracker_csv(rows: int) -> bytes:
    """A seller's sheet: the tracker's 13 columns, two log lines, a last scan, a deadline."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TRACKER_COLUMNS)
    for i in range(rows):
        writer.writerow(
            [
                f"SO-{i}",
                "2026-03-01",
                f"c{i}@example.com; ticket ZD-{i}",
                "UPS",
                f"1Z{i:016d}",
                "Departed facility — Leipzig, DE",
                "2026-03-20T10:00:00Z",
                "2026-03-21T10:00:00+01:00",
                "2026-03-21 10:00 UTC | anna | note | the customer wrote\n"
                "2026-03-22 10:00 UTC | anna | carrier_contacted | UPS trace opened",
                "Told the customer we are on it",
                "Call UPS",
                "2026-03-28T10:00:00Z",
                "In Progress" if i % 3 else "Resolved (Refunded)",
            ]
        )
    return buffer.getvalue().encode()


def _run(db: Database, tenant_id: uuid.UUID, content: bytes, *, dry_run: bool) -> ImportReport:
    settings = Settings()
    return import_table(
        db,
        tenant_id=tenant_id,
        table=read_table(content, ImportLimits()),
        dry_run=dry_run,
        actor=Actor.system(),
        now=NOW,
        default_next_step_hours=settings.default_next_step_hours,
        date_order="dmy",
        batch_rows=settings.import_batch_rows,
    )


def _timed(
    db: Database, tenant_id: uuid.UUID, content: bytes, *, dry_run: bool
) -> tuple[float, ImportReport]:
    started = time.perf_counter()
    report = _run(db, tenant_id, content, dry_run=dry_run)
    return time.perf_counter() - started, report


def run(quick: bool) -> list[Figure]:
    sizes = QUICK_SIZES if quick else SIZES
    dry: dict[int, float] = {}
    real: dict[int, float] = {}
    with throwaway_database("import") as db:
        for size in sizes:
            content = tracker_csv(size)
            with db.unit_of_work() as session:
                tenant_id = ensure_tenant(session, slug=f"bench-{size}").id
            dry[size], checked = _timed(db, tenant_id, content, dry_run=True)
            real[size], done = _timed(db, tenant_id, content, dry_run=False)
            if (checked.valid, done.imported) != (size, size):
                raise RuntimeError(f"{size} rows: {checked.valid} valid, {done.imported} imported")
            print(f"   {size:>6,} rows: dry run {dry[size]:6.1f} s, import {real[size]:6.1f} s")
        largest, smallest = sizes[-1], sizes[0]
        again, rerun = _timed(db, tenant_id, content, dry_run=False)
        if rerun.already_imported != largest:
            raise RuntimeError(f"a re-run found {rerun.already_imported} of {largest} rows")
    figures: list[Figure] = []
    for size in sizes:
        figures.append(Figure(f"tracker import dry run, {size:,} rows", "s", (dry[size],)))
        figures.append(Figure(f"tracker import (dry_run=false), {size:,} rows", "s", (real[size],)))
    per_row = {
        kind: (t[largest] / largest) / (t[smallest] / smallest)
        for kind, t in (("dry", dry), ("real", real))
    }
    return [
        *figures,
        Figure(
            f"tracker import dry run, {largest:,} rows (goal)",
            "s",
            (dry[largest],),
            target=f"≤ {DRY_GOAL_S:g} s",
            met=quick or dry[largest] <= DRY_GOAL_S,
        ),
        Figure(
            f"tracker import, {largest:,} rows (goal)",
            "s",
            (real[largest],),
            target=f"≤ {REAL_GOAL_S:g} s",
            met=quick or real[largest] <= REAL_GOAL_S,
        ),
        Figure(
            f"import time per row, {largest:,} vs {smallest:,} rows",
            "ratio",
            (per_row["real"],),
            target=f"≤ {LINEAR_GOAL:g} (linear)",
            met=per_row["real"] <= LINEAR_GOAL,
        ),
        Figure(
            f"dry-run time per row, {largest:,} vs {smallest:,} rows",
            "ratio",
            (per_row["dry"],),
            target=f"≤ {LINEAR_GOAL:g} (linear)",
            met=per_row["dry"] <= LINEAR_GOAL,
        ),
        Figure(f"tracker import re-run, {largest:,} rows all already imported", "s", (again,)),
    ]
