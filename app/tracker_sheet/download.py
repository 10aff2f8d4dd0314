"""Which export runs: PostgreSQL's own (``pg_export``: CSV lines written by PostgreSQL on
two connections, typed cells through a server-side cursor; tens of thousands of rows a
second) or the portable one (``exporter``: pages of loaded models, for SQLite). Both write
the same bytes for the same data (tests/tracker_sheet compare them).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime

from app.db.engine import Database
from app.incidents.queries import IncidentFilters
from app.tracker_sheet import exporter, pg_export
from app.tracker_sheet.columns import SheetRow


def _postgresql(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


def csv_chunks(
    db: Database, *, tenant_id: uuid.UUID, filters: IncidentFilters, now: datetime
) -> Iterator[bytes]:
    """The CSV file in chunks. The query runs before the first chunk (the header) is given,
    so a query that fails fails before an answer has started."""
    if _postgresql(db):
        yield from pg_export.csv_chunks(db, tenant_id=tenant_id, filters=filters, now=now)
        return
    pages = exporter.sheet_pages(db, tenant_id=tenant_id, filters=filters, now=now)
    first = next(pages, None)
    yield from exporter.csv_chunks(itertools.chain([first] if first is not None else [], pages))


def sheet_pages(
    db: Database, *, tenant_id: uuid.UUID, filters: IncidentFilters, now: datetime
) -> Iterator[list[SheetRow]]:
    """The rows for the XLSX writer, a page (or batch) at a time."""
    if _postgresql(db):
        return pg_export.sheet_pages(db, tenant_id=tenant_id, filters=filters, now=now)
    return exporter.sheet_pages(db, tenant_id=tenant_id, filters=filters, now=now)
