"""PostgreSQL's fast export (lines built in SQL, a server-side cursor) writes what the
portable one writes.

The same seeded tracker goes through both: the CSV byte for byte, every typed cell, and the
XLSX cell for cell (value, type, number format, link, font and fill), with the list's filters.
The data is varied on purpose: an imported 200-row sheet, incidents worked through the API,
and stored values the API would refuse (formula-like and Unicode text, unknown carriers and
statuses, odd currencies, messages in and out).
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import col, select

from app.core.actors import Actor
from app.core.models import Tenant
from app.db.engine import Database
from app.incidents.models import Incident
from app.incidents.queries import IncidentFilters
from app.parcels.models import Parcel
from app.tracker_sheet import exporter, pg_cells, pg_export, pg_slices
from app.tracker_sheet.columns import SheetRow
from app.tracker_sheet.errors import ImportLimits
from app.tracker_sheet.importer import import_table
from app.tracker_sheet.reader import read_table
from app.tracker_sheet.workbook import write_xlsx
from app.workflow.messages.models import CustomerMessage
from tests.factories import ApiClient, FakeClock
from tests.tracker_sheet.fixtures import seed_tracker
from tests.tracker_sheet.stored_rows import varied_sheet

pytestmark = pytest.mark.postgres_only
NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
FILTERS = [
    IncidentFilters(),
    IncidentFilters(status=("resolved",)),
    IncidentFilters(status=("open", "escalated"), type=("delay",)),
    IncidentFilters(carrier=("ups", "other")),
    IncidentFilters(overdue=True),
    IncidentFilters(overdue=False),
    IncidentFilters(q="so-10"),
    IncidentFilters(opened_after=datetime(2026, 3, 12, tzinfo=UTC)),
    IncidentFilters(customer_email="BUYER3@example.com"),
]
ODD_TEXT = [
    "=1+2",
    "-٣٤",
    "+\u2003(30)",
    "@SUM(A1)",
    "\t=x",
    'a "quoted", text\r\nover lines',
    "  padded \u00a0 words\n",
    "",
    "bell\x07 escape\x1b " + "x" * 40_000,
]


def _tracker(api: ApiClient, db: Database, clock: FakeClock) -> uuid.UUID:
    seed_tracker(api, db, clock)
    with db.session() as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == "acme")).one()
    report = import_table(
        db,
        tenant_id=tenant.id,
        table=read_table(varied_sheet(200), ImportLimits()),
        dry_run=False,
        actor=Actor("api_key", None, "importer@example.com"),
        now=NOW,
        default_next_step_hours=48,
    )
    assert report.imported > 100
    _store_odd_values(db, tenant.id)
    return tenant.id


def _store_odd_values(db: Database, tenant_id: uuid.UUID) -> None:
    """Values only old data or a direct write could hold, spread over the incidents."""
    with db.session() as session:
        incidents = session.exec(
            select(Incident).where(Incident.tenant_id == tenant_id).order_by(col(Incident.number))
        ).all()
        parcels = {p.id: p for p in session.exec(select(Parcel))}
        for n, incident in enumerate(incidents[:40]):
            parcel = parcels[incident.parcel_id]
            odd = ODD_TEXT[n % len(ODD_TEXT)]
            incident.description = odd
            incident.next_step_action = odd[:500] if incident.next_step_action else None
            parcel.customer_name = ODD_TEXT[(n + 3) % len(ODD_TEXT)][:200]
            _odd_incident(incident, n)
            _odd_parcel(parcel, n)
            session.add(incident)
            session.add(parcel)
            if n % 3 == 0:
                _messages(session, incident, parcel, n)
        session.commit()
        session.execute(
            text(
                "UPDATE timeline_entries SET actor_name = ' anna\u00a0 \u2003lee ', "
                "summary = summary || E'\\n  and\\tmore\u3000' WHERE seq = 1"
            )
        )
        session.commit()


def _odd_incident(incident: Incident, n: int) -> None:
    case = n % 10
    if case == 0:
        incident.status = "waiting_on_godot"  # no name in the sheet's words
    elif case == 1:
        incident.status, incident.resolution = "resolved", None
    elif case == 2:
        incident.status, incident.resolution = "resolved", "teleported"
    elif case == 3:
        incident.number = 1_234_567 + n
    compensation = [
        (Decimal("5990.000"), "JPY", Decimal("100.00")),
        (Decimal("12.346"), "KWD", Decimal("0.00")),
        (Decimal("5.500"), "ZZZ", Decimal("12.50")),
        (Decimal("-7.100"), "", None),
        (Decimal("19.900"), "eur", Decimal("3.10")),
        (Decimal("1.000"), "\u00c9UR", None),
    ]
    if n % 4 == 1:
        amount, currency, percent = compensation[(n // 4) % len(compensation)]
        incident.compensation_kind = "refund"
        incident.compensation_amount, incident.compensation_currency = amount, currency
        incident.compensation_percent = percent
    if n % 5 == 2:
        incident.communication_summary = [" \n\u2003", "Called twice \u00a0\n", None][n % 3]
    if n % 7 == 3:
        incident.substantiated = False


def _odd_parcel(parcel: Parcel, n: int) -> None:
    case = n % 8
    if case == 0:
        parcel.carrier = "gone_carrier"  # an adapter removed since
    elif case == 1:
        parcel.carrier, parcel.carrier_name = "other", "Hermes, UK"
        parcel.tracking_url_template = "https://t.example/track?a=1,b={number}"
    elif case == 2:
        parcel.carrier, parcel.carrier_name, parcel.tracking_url_template = "other", None, None
        parcel.tracking_number = f"ab {n} 12-3/ü"
    elif case == 3:
        parcel.carrier = "17track:190002"
    elif case == 4:
        parcel.customer_email, parcel.customer_ticket_ref = "", "ZD-9"
        parcel.last_scan_at = NOW - timedelta(days=2)
        parcel.last_scan_description = None
        parcel.last_scan_city, parcel.last_scan_country = "", "DE"
    elif case == 5:
        parcel.last_scan_at, parcel.last_scan_status = NOW, "=cmd"


def _messages(session: Any, incident: Incident, parcel: Parcel, n: int) -> None:
    at = NOW - timedelta(days=3)
    common: dict[str, Any] = {
        "tenant_id": incident.tenant_id,
        "parcel_id": parcel.id,
        "actor_type": "system",
        "actor_name": "system",
        "body": "body",
    }
    for k, (direction, channel, delivery, summary, own) in enumerate(
        [
            ("out", "email", "not_sent", "Your order  is\ndelayed", True),
            ("in", "phone", None, "  Where is it?  ", True),
            ("out", "chat", "queued", "=1+1 notice", False),  # the parcel's, outside incidents
            ("in", "", "bounced", "same time", True),
            ("out", "email", "sent", "same time", True),
        ]
    ):
        session.add(
            CustomerMessage(
                **common,
                incident_id=incident.id if own else None,
                direction=direction,
                channel=channel,
                delivery=delivery,
                summary=summary,
                occurred_at=at + timedelta(hours=n + min(k, 3)),
                created_at=at,
            )
        )


def _typed(rows: list[SheetRow]) -> list[tuple[Any, ...]]:
    """Rows whose values compare by type and text (Decimal("10") is not Decimal("1E+1"))."""
    return [
        (
            tuple(
                (type(v).__name__, v.isoformat() if isinstance(v, datetime) else str(v))
                for v in row.values
            ),
            row.tracking_url,
            row.overdue,
        )
        for row in rows
    ]


@pytest.mark.parametrize(
    ("slice_rows", "lines_per_run"), [(pg_slices.SLICE_ROWS, pg_cells.LINES_PER_RUN), (7, 3)]
)
def test_csv_through_postgresql_is_byte_for_byte_the_portable_export(
    api: ApiClient,
    db: Database,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    slice_rows: int,
    lines_per_run: int,
) -> None:
    """In one slice, and cut into slices of 7 rows read by two connections at once (ties of
    opening time across slice ends, rows Python writes in either connection's slices), their
    lines joined in runs of 3 (runs with a row Python writes, and without)."""
    tenant_id = _tracker(api, db, clock)
    monkeypatch.setattr(pg_slices, "SLICE_ROWS", slice_rows)
    monkeypatch.setattr(pg_cells, "LINES_PER_RUN", lines_per_run)

    for filters in FILTERS:
        portable = b"".join(
            exporter.csv_chunks(
                exporter.sheet_pages(db, tenant_id=tenant_id, filters=filters, now=NOW)
            )
        )
        fast = b"".join(pg_export.csv_chunks(db, tenant_id=tenant_id, filters=filters, now=NOW))

        assert portable.count(b"\r\n") > 1 or filters != IncidentFilters()
        if fast != portable:  # name the first line that differs
            for ours, theirs in zip(fast.split(b"\r\n"), portable.split(b"\r\n"), strict=False):
                assert ours == theirs, filters
        assert fast == portable, filters


def test_typed_rows_and_the_workbook_are_cell_for_cell_the_portable_ones(
    api: ApiClient, db: Database, clock: FakeClock
) -> None:
    tenant_id = _tracker(api, db, clock)
    filters = IncidentFilters()

    portable = [
        r
        for p in exporter.sheet_pages(db, tenant_id=tenant_id, filters=filters, now=NOW)
        for r in p
    ]
    fast_pages = list(
        pg_export.sheet_pages(db, tenant_id=tenant_id, filters=filters, now=NOW, batch_rows=64)
    )
    fast = [r for p in fast_pages for r in p]

    assert len(fast_pages) > 1
    assert len(portable) > 150
    assert _typed(fast) == _typed(portable)
    with tempfile.TemporaryDirectory() as folder:
        write_xlsx(iter([portable]), f"{folder}/a.xlsx", exported_at=NOW)
        write_xlsx(iter(fast_pages), f"{folder}/b.xlsx", exported_at=NOW)
        assert _cells(f"{folder}/b.xlsx") == _cells(f"{folder}/a.xlsx")


def _cells(path: str) -> list[tuple[Any, ...]]:
    workbook = load_workbook(path)
    found = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                link = cell.hyperlink.target if cell.hyperlink else None
                found.append(
                    (
                        sheet.title,
                        cell.coordinate,
                        cell.value,
                        cell.data_type,
                        cell.number_format,
                        link,
                        cell.font.b,
                        cell.font.color.rgb if cell.font.color else None,
                        cell.fill.fgColor.rgb,
                    )
                )
    return found
