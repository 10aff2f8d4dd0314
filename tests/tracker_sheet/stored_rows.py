"""A varied tracker sheet, and the rows an import stores for it as comparable plain data.

The dump leaves out only what is generated afresh on every run (ids, and the timeline hashes
that cover an incident's id); each chain is verified instead. Everything else an import
stores (parcels, incidents, timeline entries, when detection looks again) is in it, keyed by
what the sheet names (carrier and tracking number, incident number, entry seq).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.incidents.models import Incident, TimelineEntry
from app.incidents.timeline import verify_chain
from app.parcels.models import Parcel
from app.tracker_sheet.columns import COLUMNS

CARRIERS = (  # (Carrier cell, a tracking number of it)
    ("UPS", "1Z999AA1{:010d}"),
    ("dhl", "{:010d}"),
    ("Other: Hermes UK", "H{:015d}"),
    ("17track:100010", "DPD{:011d}"),
    ("", "RR{:08d}{}CN"),  # identified from the number: China Post (UPU S10, check digit)
    ("sandbox", "SANDBOX-INTRANSIT-{:05d}"),
)
STATUSES = (
    "Open", "In Progress", "Awaiting Customer", "Awaiting Carrier", "Escalated",
    "Resolved (Refunded)", "Resolved (Delivered)", "Resolved (Reshipped)",
)  # fmt: skip
SCANS = (  # (Last Tracking Update, its date, Last Tracking Status)
    ("", "", ""),
    ("Departed facility — Leipzig, DE", "2026-03-18T06:30:00Z", ""),
    ("Held by import customs — Frankfurt, DE", "2026-03-12T11:00:00+01:00", "customs_hold"),
    ("Exception: address unknown", "2026-03-19", "exception"),
    ("Delivered — New York, US", "2026-03-20T15:00:00-04:00", "delivered"),
    ("Arrived at sort centre — Shenzhen", "2026-02-27T23:30:00+08:00", "in_transit"),
)
LOGS = (
    "",
    "2026-03-21 10:00 UTC | anna | note | the customer wrote",
    "2026-03-21 10:00 UTC | anna | note | the customer wrote\n"
    "2026-03-22 09:15 +01:00 | ben | carrier_contacted | trace opened",
    "called the customer, no answer\n2026-03-23 08:00Z | anna | note | left a voicemail",
    "free text only\n\nsecond line of it",
)
COUNTRIES = (("CN", "DE"), ("", "US"), ("DE", "JP"), ("", ""), ("GB", "FR"))
PHONES = ("", "+49 30 901820", "+1 212 555 0100")
COMPENSATIONS = (
    ("", "", "", ""),
    ("Refund", "25.50", "EUR", ""),
    ("Coupon", "10", "USD", ""),
    ("Partial refund", "", "", "15"),
)


def _s10(serial: int) -> str:
    total = sum(w * int(d) for w, d in zip((8, 6, 4, 2, 3, 5, 9, 7), f"{serial:08d}", strict=True))
    check = 11 - total % 11
    return str({10: 0, 11: 5}.get(check, check))


def _row(i: int) -> dict[str, str]:
    carrier, number = CARRIERS[i % len(CARRIERS)]
    status = STATUSES[i % len(STATUSES)]
    scan, scan_at, scan_status = SCANS[i % len(SCANS)]
    origin, destination = COUNTRIES[i % len(COUNTRIES)]
    kind, amount, currency, percent = COMPENSATIONS[i % len(COMPENSATIONS)]
    due = "" if i % 4 == 0 else f"2026-03-{25 + i % 5:02d}T{8 + i % 9:02d}:00:00Z"
    return {
        "Order ID": f"SO-{1000 + i // 2 if i % 10 == 9 else 1000 + i}",  # some orders twice
        "Order Date": "" if i % 3 == 0 else f"2026-02-{1 + i % 28:02d}",
        "Customer Contact": ("" if i % 7 == 0 else f"buyer{i % 37}@example.com")
        + ("" if i % 5 else f"; ticket ZD-{i}"),
        "Carrier": carrier,
        "Tracking Number": number.format(i, _s10(i)),
        "Last Tracking Update": scan,
        "Last Tracking Update Date": scan_at,
        "Customer Reported Date": "" if i % 13 == 1 else f"2026-03-{1 + i % 20:02d}T09:00:00Z",
        "Internal Action Log": LOGS[i % len(LOGS)],
        "Communication Summary": "" if i % 2 else f"Told the customer (row {i})",
        "Next Step": "Call the carrier" if due else "",
        "Next Step Deadline": due,
        "Resolution Status": status,
        "Incident Type": ("delay", "lost", "damaged", "")[i % 4],
        "Source": ("customer", "agent", "")[i % 3],
        "Description": "" if i % 4 == 1 else f"Parcel {i} is late",
        "Opened At": "" if i % 5 else "2026-03-02T12:00:00+02:00",
        "Detected At": "" if i % 8 else "2026-03-03T00:00:00Z",
        "First Response At": "" if i % 9 else "2026-03-04T10:30:00Z",
        "Resolved At": "2026-03-24T10:00:00Z" if status.startswith("Resolved") and i % 2 else "",
        "Substantiated": ("", "Yes", "No")[i % 3],
        "Responsible Department": "" if i % 6 else "Logistics",
        "Root Cause": ("", "carrier_delay", "customs inspection", "Weather")[i % 4],
        "Proposed Solution": "" if i % 10 else "Reship with tracking",
        "Compensation Kind": kind,
        "Compensation Amount": amount,
        "Compensation Currency": currency,
        "Compensation Percent": percent,
        "Lessons Learned": "" if i % 12 else "Use the express service",
        "Customer Name": "" if i % 3 == 2 else f"Maria Nowak {i % 11}",
        "Customer Phone": "030 901820" if destination == "DE" else PHONES[i % len(PHONES)],
        "Customer Locale": ("", "de-DE", "en")[i % 3],
        "Origin Country": origin,
        "Destination Country": destination,
        "Last Tracking Status": scan_status,
    }


def varied_sheet(rows: int = 200) -> bytes:
    """``rows`` rows that between them use every column and most of what a cell may say."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for i in range(rows):
        values = _row(i)
        writer.writerow([values.get(name, "") for name in COLUMNS])
    return buffer.getvalue().encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, uuid.UUID):
        raise AssertionError("ids are generated: leave them out of the dump")
    return value


def _columns(record: Any, leave_out: set[str]) -> dict[str, Any]:
    """Every column but ``leave_out``; an empty (NULL) one is left out too, to keep it short."""
    table = type(record).__table__
    values = {c.name: getattr(record, c.name) for c in table.columns if c.name not in leave_out}
    return {name: _plain(value) for name, value in values.items() if value is not None}


def dump(session: Session, tenant_id: uuid.UUID) -> dict[str, Any]:
    """What the tenant's tables hold, without generated ids; raises if a chain is broken."""
    parcels = session.exec(
        select(Parcel)
        .where(Parcel.tenant_id == tenant_id)
        .order_by(col(Parcel.carrier), col(Parcel.tracking_number))
    ).all()
    key_of = {p.id: f"{p.carrier} {p.tracking_number}" for p in parcels}
    incidents = session.exec(
        select(Incident).where(Incident.tenant_id == tenant_id).order_by(col(Incident.number))
    ).all()
    stored_incidents: list[dict[str, Any]] = []
    for incident in incidents:
        entries = session.exec(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id)
            .order_by(col(TimelineEntry.seq))
        ).all()
        verdict = verify_chain(entries)
        assert verdict.valid, (incident.number, verdict)
        stored_incidents.append(
            _columns(incident, {"id", "tenant_id", "parcel_id"})
            | {
                "parcel": key_of[incident.parcel_id],
                "timeline": [
                    _columns(e, {"id", "tenant_id", "incident_id", "hash", "prev_hash"})
                    for e in entries
                ],
            }
        )
    return {
        "parcels": {key_of[p.id]: _columns(p, {"id", "tenant_id"}) for p in parcels},
        "incidents": stored_incidents,
    }


def rows_of(sheet: bytes) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(io.StringIO(sheet.decode()))
