"""A tenant's working queue for the desk benchmark: open incidents through the tracker import.

The rows go in through the same import a seller uses (``app.tracker_sheet``), in batches, so
the incidents, parcels and timelines are what the service itself writes, not hand-made SQL.
The mix is a help desk's: five carriers, seven incident types, every unresolved status, 5% of
next steps overdue and 3% due today (in UTC), a quarter of delays opened by detection and half
of those touched by nobody yet. Proposals waiting for approval are made afterwards through the
API (``propose_for_approval``), as an agent's key would.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import httpx
from sqlalchemy import text

from app.core.actors import Actor
from app.core.settings import Settings
from app.db.engine import Database
from app.tracker_sheet.errors import ImportLimits
from app.tracker_sheet.importer import import_table
from app.tracker_sheet.reader import read_table

HEADER = (
    "Order ID", "Order Date", "Customer Contact", "Customer Name", "Carrier", "Tracking Number",
    "Last Tracking Update", "Last Tracking Update Date", "Customer Reported Date", "Detected At",
    "Opened At", "Internal Action Log", "Next Step", "Next Step Deadline", "Resolution Status",
    "Incident Type", "Source", "Description", "Origin Country", "Destination Country",
)  # fmt: skip
CARRIERS: tuple[tuple[str, Callable[[int], str]], ...] = (
    ("UPS", lambda i: f"1Z{i:016d}"),
    ("FedEx", lambda i: f"7{i:011d}"),
    ("DHL", lambda i: f"{3_000_000_000 + i}"),
    ("China Post", lambda i: f"LX{i:09d}CN"),
    ("Other: Hermes", lambda i: f"H{i:010d}"),
)
TYPES = ("delay", "lost", "damaged", "missing_items", "customs", "delivery_failed", "returned")
TYPE_WEIGHTS = (50, 15, 15, 5, 5, 5, 5)  # delay dominates, as it does at a cross-border seller
STATUSES = ("In Progress", "Awaiting Carrier", "Awaiting Customer", "Open", "Escalated")
STATUS_WEIGHTS = (35, 25, 20, 15, 5)
COUNTRIES = ("DE", "FR", "ES", "GB", "US", "IT", "NL")
NAMES = ("Maria Schmidt", "Jean Dupont", "Lucia García", "Tom Baker", "Ana Silva", "Li Wei")
OVERDUE, DUE_TODAY, AUTOMATIC, UNTOUCHED = 0.05, 0.03, 0.25, 0.5  # shares
BATCH = 2_000


def _deadline(pick: random.Random, now: datetime, end_of_day: datetime) -> datetime:
    draw = pick.random()
    if draw < OVERDUE:
        return now - timedelta(days=pick.randint(1, 3), hours=pick.randint(0, 12))
    if draw < OVERDUE + DUE_TODAY:
        return now + (end_of_day - now) * pick.uniform(0.1, 0.9)
    return now + timedelta(days=pick.randint(1, 5), hours=pick.randint(0, 12))


def _log(carrier: str, opened: datetime) -> str:
    """Two lines of an agent's work: the incident has been touched by a person."""
    first, second = opened + timedelta(hours=1), opened + timedelta(hours=2)
    return (
        f"{first:%Y-%m-%d %H:%M} UTC | Anna Agent | customer_contacted | Wrote to the customer\n"
        f"{second:%Y-%m-%d %H:%M} UTC | Anna Agent | carrier_contacted | Trace with {carrier}"
    )


def _row(i: int, pick: random.Random, now: datetime, end_of_day: datetime) -> list[str]:
    carrier, number = pick.choice(CARRIERS)
    kind = pick.choices(TYPES, TYPE_WEIGHTS)[0]
    automatic = kind == "delay" and pick.random() < AUTOMATIC
    untouched = automatic and pick.random() < UNTOUCHED
    opened = now - timedelta(hours=3, seconds=250 * i)
    stamp = opened.isoformat()
    order = f"SO-{100_000 + i}"
    return [
        order,
        (opened - timedelta(days=9)).date().isoformat(),
        f"customer{i}@example.com; ticket ZD-{50_000 + i}",
        pick.choice(NAMES),
        carrier,
        number(i + 1),
        "Departed facility — Leipzig, DE",
        (opened - timedelta(days=2)).isoformat(),
        "" if automatic else stamp,
        stamp if automatic else "",
        stamp,
        "" if untouched else _log(carrier, opened),
        pick.choice(("Chase the carrier", "Answer the customer")),
        _deadline(pick, now, end_of_day).isoformat(),
        "Open" if automatic else pick.choices(STATUSES, STATUS_WEIGHTS)[0],
        kind,
        "auto" if automatic else "customer",
        f"{kind.replace('_', ' ')} reported for order {order}",
        "CN",
        pick.choice(COUNTRIES),
    ]


def tracker_csv(start: int, stop: int, now: datetime) -> bytes:
    end_of_day = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    pick = random.Random(start)  # the same rows on every run
    for i in range(start, stop):
        writer.writerow(_row(i, pick, now, end_of_day))
    return buffer.getvalue().encode()


def import_queue(db: Database, tenant_id: uuid.UUID, count: int, now: datetime) -> None:
    """``count`` open incidents through the tracker import, in batches of ``BATCH`` rows."""
    settings = Settings()
    for start in range(0, count, BATCH):
        stop = min(start + BATCH, count)
        report = import_table(
            db,
            tenant_id=tenant_id,
            table=read_table(tracker_csv(start, stop, now), ImportLimits()),
            dry_run=False,
            actor=Actor.system(),
            now=now,
            default_next_step_hours=settings.default_next_step_hours,
            date_order="iso",
            batch_rows=settings.import_batch_rows,
        )
        if report.imported != stop - start:
            raise RuntimeError(f"rows {start}-{stop}: imported {report.imported}: {report}")
    with db.session() as session:
        for table in ("parcels", "incidents", "timeline_entries"):
            session.execute(text(f"ANALYZE {table}"))
        session.commit()


def propose_for_approval(db: Database, base_url: str, key: str, count: int) -> None:
    """``count`` lost or damaged incidents taken to a refund above the approval threshold."""
    with db.session() as session:
        ids = session.execute(
            text(
                "SELECT id FROM incidents WHERE type IN ('lost', 'damaged') "
                "AND status = 'in_progress' ORDER BY number LIMIT :count"
            ),
            {"count": count},
        ).scalars()
        incident_ids = [str(value) for value in ids]
    steps = (
        ("assessment", {"substantiated": True, "reason": "The carrier confirms it"}),
        ("department", {"department": "Logistics"}),
        ("root-cause", {"root_cause": "lost_by_carrier"}),
        (
            "proposal",
            {
                "solution": "Refund the order",
                "compensation": {"kind": "refund", "amount": "80.00", "currency": "EUR"},
            },
        ),
    )
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as api:
        for incident_id in incident_ids:
            for step, body in steps:
                answer = api.post(f"/v1/incidents/{incident_id}/process/{step}", json=body)
                if answer.status_code != 200:
                    raise RuntimeError(f"{step} of {incident_id}: {answer.text}")
            if answer.json()["step"] != "approval":
                raise RuntimeError(f"{incident_id} is not waiting for approval: {answer.text}")
