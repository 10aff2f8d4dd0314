"""The tracker export on PostgreSQL: 100,000 incidents streamed as CSV and as XLSX.

Figures: rows per second for each format, and the peak Python memory of a CSV export
(tracemalloc, in its own run because tracing slows everything down). Goals (issue 20): CSV
at least 50,000 rows/s, XLSX at least 10,000 rows/s, and memory flat: the export streams
(slices of 1,000 rows for CSV, a server-side cursor in batches for XLSX) and never holds the
whole tracker, so its peak stays well under 64 MB whatever the row count. Incidents, parcels
and two timeline entries each are generated in the database (``generate_series``). The
export runs as the download route runs it (``app.tracker_sheet.download``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents.queries import IncidentFilters
from app.tracker_sheet.download import csv_chunks, sheet_pages
from app.tracker_sheet.workbook import write_xlsx
from bench.figures import Figure
from bench.pg import throwaway_database

NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
MEMORY_TARGET_MB = 64.0
FLAT_SLACK_MB = 2.0  # a chunk buffer or two: what may differ between a small and a large export
OPENED = datetime(2026, 3, 25, tzinfo=UTC)
CSV_TARGET = 50_000  # rows/s
XLSX_TARGET = 10_000  # rows/s

_FILL = (
    """
    INSERT INTO parcels (id, tenant_id, carrier, tracking_number, order_id, order_date,
        customer_name, customer_email, customer_ticket_ref, origin_country,
        destination_country, status, last_scan_at, last_scan_status, last_scan_description,
        last_scan_city, last_scan_country, created_at, updated_at)
    SELECT md5('p' || i)::uuid, :tenant, 'ups', '1Z' || lpad(i::text, 16, '0'), 'SO-' || i,
        DATE '2026-03-01', 'Customer ' || i, 'c' || i || '@example.com', 'ZD-' || i, 'CN', 'DE',
        'in_transit', :scan_at, 'in_transit', 'Departed facility', 'Leipzig', 'DE',
        :created, :created
    FROM generate_series(1, :count) AS i
    """,
    """
    INSERT INTO incidents (id, tenant_id, number, parcel_id, type, source, status, description,
        customer_reported_at, opened_at, communication_summary, next_step_action,
        next_step_due_at, version, created_at, updated_at)
    SELECT md5('i' || i)::uuid, :tenant, i, md5('p' || i)::uuid, 'delay', 'customer', 'open',
        'No movement for a week', :opened, :opened - (i || ' seconds')::interval,
        'Told the customer we are on it', 'Contact UPS', :due, 1, :opened, :opened
    FROM generate_series(1, :count) AS i
    """,
    """
    INSERT INTO timeline_entries (id, tenant_id, incident_id, seq, kind, actor_type,
        actor_name, summary, data, occurred_at, recorded_at, prev_hash, hash, hash_version)
    SELECT gen_random_uuid(), :tenant, md5('i' || i)::uuid, s,
        CASE s WHEN 1 THEN 'opened' ELSE 'carrier_contacted' END, 'api_key', 'agent',
        CASE s WHEN 1 THEN 'delay incident opened (customer)' ELSE 'UPS trace opened' END,
        '{}', :opened, :opened, repeat('0', 64), repeat('0', 64), 2
    FROM generate_series(1, :count) AS i, generate_series(1, 2) AS s
    """,
)


def _fill(db: Database, count: int) -> uuid.UUID:
    with db.session() as session:
        tenant = ensure_tenant(session, slug="bench")
        session.commit()
        params = {
            "tenant": tenant.id,
            "count": count,
            "scan_at": datetime(2026, 3, 20, tzinfo=UTC),
            "created": datetime(2026, 3, 2, tzinfo=UTC),
            "opened": OPENED,
            "due": datetime(2026, 3, 27, tzinfo=UTC),
        }
        for statement in _FILL:
            session.execute(text(statement), params)
        session.commit()
        for table in ("parcels", "incidents", "timeline_entries"):
            session.execute(text(f"ANALYZE {table}"))
        session.commit()
        return tenant.id


def _csv(db: Database, tenant_id: uuid.UUID) -> tuple[float, int]:
    started = time.perf_counter()
    chunks = csv_chunks(db, tenant_id=tenant_id, filters=IncidentFilters(), now=NOW)
    size = sum(len(chunk) for chunk in chunks)
    return time.perf_counter() - started, size


def _xlsx(db: Database, tenant_id: uuid.UUID, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    rows = write_xlsx(
        sheet_pages(db, tenant_id=tenant_id, filters=IncidentFilters(), now=NOW),
        path,
        exported_at=NOW,
    )
    return time.perf_counter() - started, rows


def _peak_mb(db: Database, tenant_id: uuid.UUID, filters: IncidentFilters) -> float:
    tracemalloc.start()
    try:
        for _chunk in csv_chunks(db, tenant_id=tenant_id, filters=filters, now=NOW):
            pass
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def run(quick: bool) -> list[Figure]:
    count = 5_000 if quick else 100_000
    runs = 1 if quick else 3
    csv_rates: list[float] = []
    xlsx_rates: list[float] = []
    with throwaway_database("export") as db, tempfile.TemporaryDirectory() as folder:
        tenant_id = _fill(db, count)
        for _ in range(runs):
            seconds, size = _csv(db, tenant_id)
            if size < count * 100:
                raise RuntimeError(f"the CSV export is too small: {size} bytes")
            csv_rates.append(count / seconds)
        for _ in range(runs):
            seconds, rows = _xlsx(db, tenant_id, f"{folder}/tracker.xlsx")
            if rows != count:
                raise RuntimeError(f"the XLSX export wrote {rows} rows, not {count}")
            xlsx_rates.append(count / seconds)
        peak = _peak_mb(db, tenant_id, IncidentFilters())
        # the newest tenth (incident i was opened i seconds before OPENED): flat memory means
        # ten times the rows need no more memory than a tenth of them, give or take a buffer
        tenth = IncidentFilters(opened_after=OPENED - timedelta(seconds=count // 10))
        tenth_peak = _peak_mb(db, tenant_id, tenth)
    csv_rate, xlsx_rate = statistics.median(csv_rates), statistics.median(xlsx_rates)
    return [
        Figure(
            f"tracker export CSV, {count:,} incidents",
            "rows/s",
            tuple(csv_rates),
            target=f"≥ {CSV_TARGET:,} rows/s",
            met=csv_rate >= CSV_TARGET,
        ),
        Figure(
            f"tracker export XLSX, {count:,} incidents",
            "rows/s",
            tuple(xlsx_rates),
            target=f"≥ {XLSX_TARGET:,} rows/s",
            met=xlsx_rate >= XLSX_TARGET,
        ),
        Figure(
            f"tracker export CSV peak Python memory, {count:,} incidents",
            "MB",
            (peak,),
            target=f"≤ {MEMORY_TARGET_MB:g} MB, flat",
            met=peak <= MEMORY_TARGET_MB and peak <= tenth_peak + FLAT_SLACK_MB,
        ),
        Figure(
            f"tracker export CSV peak Python memory, {count // 10:,} of them",
            "MB",
            (tenth_peak,),
        ),
    ]
