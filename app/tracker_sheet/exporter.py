"""Streaming the tracker, portably: pages of incidents from the database, written as CSV.

Memory stays flat whatever the number of incidents: rows are read a page at a time (the
list's keyset order, each page in its own short session, its timeline entries in one query),
and written straight out. This is the export on SQLite and the reference the PostgreSQL one
(``pg_export``) matches; the XLSX writer (``workbook``) takes the same pages.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.db.engine import Database
from app.incidents import queries as incident_queries
from app.incidents.models import Incident, TimelineEntry
from app.incidents.views import format_number
from app.parcels.models import Parcel
from app.tracker_sheet.columns import (
    COLUMNS,
    ORDER_ID,
    TRACKING_NUMBER,
    CellValue,
    SheetRow,
    csv_cell,
    sheet_row,
)
from app.tracker_sheet.communication import communication_cell
from app.workflow.messages.models import CustomerMessage

log = logging.getLogger(__name__)
PAGE_SIZE = 500
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


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


def one_row(session: Session, incident_id: uuid.UUID, *, now: datetime) -> SheetRow:
    """One incident's row exactly as ``sheet_pages`` writes it (for rows the fast export
    leaves to Python)."""
    found = session.exec(
        select(Incident, Parcel)
        .join(Parcel, Parcel.id == Incident.parcel_id)  # type: ignore[arg-type]
        .where(col(Incident.id) == incident_id)
    ).one()
    entries = list(
        session.exec(select(TimelineEntry).where(col(TimelineEntry.incident_id) == incident_id))
    )
    told = _messages(session, [found])
    incident, parcel = found
    messages = told.get(incident.id, []) + told.get(parcel.id, [])
    return _row_or_stub(incident, parcel, entries, now=now, messages=messages)


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


def export_filename(extension: str, now: datetime) -> str:
    return f"incidents-{now.astimezone(UTC):%Y-%m-%d}.{extension}"
