"""One tracker row checked for import: every problem named by row and column, or a clean row.

Pure: carriers are resolved from the registry, countries, currencies, phones and e-mails are
checked by the same schemas as the API (``ParcelCreate``, ``Compensation``), so a row that
passes here is a row the API would have accepted.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters import registry
from adapters.base import ScanStatus
from app.carriers.service import OTHER, resolve_carrier, validate_carrier
from app.core.errors import ValidationFailed
from app.core.settings import DateOrder
from app.incidents.schemas import Compensation, IncidentType, RootCause
from app.parcels.schemas import ParcelCreate
from app.tracker_sheet import columns as sheet
from app.tracker_sheet.cells import (
    OUT_OF_RANGE,
    Cells,
    carrier_code,
    in_range,
    split_contact,
    split_location,
    validated,
)
from app.tracker_sheet.errors import RowError

MAX_CLOCK_SKEW = timedelta(minutes=5)
SOURCES = ("customer", "agent", "auto")
_LOG_LINE = re.compile(
    r"^(?P<when>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*"
    r"(?P<zone>UTC|Z|[+-]\d{2}:?\d{2})?\s*\|\s*(?P<actor>[^|]*?)\s*\|\s*"
    r"(?P<kind>[a-z][a-z0-9_]{0,39})\s*\|\s*(?P<text>.*)$"
)
# Names sellers write in the Carrier column besides our codes and display names (normalised
# as ``carrier_code`` does: lower case, no spaces, dashes or underscores).
SHEET_NAMES = {
    "tntexpress": "tnt",
    "tntinternational": "tnt",
    "sf": "sf_express",
    "sfintl": "sf_express",
    "sfinternational": "sf_express",
    "shunfeng": "sf_express",
    "顺丰": "sf_express",
    "顺丰速运": "sf_express",
    "顺丰快递": "sf_express",
    "順豐": "sf_express",
    "順豐速運": "sf_express",
}
# "17track:100010", "17TRACK carrier 100010", "DPD (UK) (17TRACK 100010)" (as we export it)
_KEYED = re.compile(r"17track(?:\s*carrier)?\s*[:\s]\s*([0-9]+)\)?$", re.IGNORECASE)
# "Other: Hermes", "Other - Hermes": a carrier we do not track, by its name
_OTHER = re.compile(r"^other\s*[:\-\u2013\u2014]\s*(?P<name>\S.*?)\s*$", re.IGNORECASE)
_PARCEL_FIELDS = {
    "order_id": sheet.ORDER_ID,
    "order_date": sheet.ORDER_DATE,
    "tracking_number": sheet.TRACKING_NUMBER,
    "customer.email": sheet.CUSTOMER_CONTACT,
    "customer.ticket_ref": sheet.CUSTOMER_CONTACT,
    "customer.name": "Customer Name",
    "customer.phone": "Customer Phone",
    "customer.locale": "Customer Locale",
    "customer": "Customer Phone",
    "origin_country": "Origin Country",
    "destination_country": "Destination Country",
}


@dataclass(frozen=True, slots=True)
class LogLine:
    at: datetime
    actor: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class LastScan:
    status: ScanStatus
    at: datetime
    description: str
    city: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class TrackerRow:
    """A checked row: the parcel to find or register, and the incident to create."""

    row: int
    carrier: str
    parcel: ParcelCreate
    last_scan: LastScan | None
    type: str
    source: str
    status: str
    resolution: str | None
    opened_at: datetime
    values: dict[str, Any]  # the other Incident columns, by column name
    log: tuple[LogLine, ...]
    notes: tuple[str, ...]  # log lines we could not read: kept as notes, never dropped

    @property
    def key(self) -> tuple[str, str]:
        """What makes an import idempotent: the order and its tracking number."""
        return (self.parcel.order_id, self.parcel.tracking_number)


def _log(cells: Cells, now: datetime) -> tuple[tuple[LogLine, ...], tuple[str, ...]]:
    """Our export's "when | who | kind | what" lines become entries; other lines, notes."""
    lines: list[LogLine] = []
    notes: list[str] = []
    for raw in (cells.text(sheet.ACTION_LOG) or "").splitlines():
        line = raw.strip()
        match = _LOG_LINE.match(line)
        if not line:
            continue
        if match is None:
            notes.append(line[:1000])
            continue
        zone = match["zone"] or "UTC"
        offset = "+00:00" if zone in ("UTC", "Z") else zone
        try:
            written = datetime.fromisoformat(match["when"].replace(" ", "T") + offset)
        except ValueError:
            cells.fail(sheet.ACTION_LOG, f"the line {line[:60]!r} has an impossible time")
            continue
        at = in_range(written)
        if at is None:
            cells.fail(sheet.ACTION_LOG, f"the line {line[:60]!r}'s time {OUT_OF_RANGE}")
            continue
        if at > now + MAX_CLOCK_SKEW:
            cells.fail(sheet.ACTION_LOG, f"the line {line[:60]!r} is dated in the future")
            continue
        actor = (match["actor"] or "import")[:200]
        lines.append(LogLine(at=at, actor=actor, kind=match["kind"], text=match["text"][:1000]))
    return tuple(lines), tuple(notes)


def _last_scan(cells: Cells) -> LastScan | None:
    text = cells.text(sheet.LAST_UPDATE, 1000)
    at = cells.when(sheet.LAST_UPDATE_DATE)
    status_text = cells.text("Last Tracking Status")
    if not (text or at):
        return None
    if at is None:
        cells.fail(sheet.LAST_UPDATE_DATE, f"required with a {sheet.LAST_UPDATE}")
        return None
    try:
        status = ScanStatus((status_text or "unknown").lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ScanStatus)
        cells.fail("Last Tracking Status", f"{status_text!r} is not one of {allowed}")
        return None
    description, city, country = split_location(text or "")
    return LastScan(status, at, description[:500], city[:200] if city else None, country)


def _carrier(cells: Cells, tracking_number: str | None) -> tuple[str | None, str | None]:
    """(carrier code, the seller's name for an ``other`` carrier): named, else identified."""
    named = cells.text(sheet.CARRIER)
    if named:
        return _named_carrier(cells, named)
    if tracking_number is None:
        return None, None
    try:
        return resolve_carrier(None, tracking_number), None
    except ValidationFailed as exc:
        cells.fail(sheet.CARRIER, exc.detail.removeprefix("carrier: "))
        return None, None


def _named_carrier(cells: Cells, named: str) -> tuple[str | None, str | None]:
    other = _OTHER.match(named)
    if other:
        name = other["name"]
        if len(name) > 100:
            cells.fail(sheet.CARRIER, "the carrier's name is longer than 100 characters")
            return None, None
        return OTHER, name
    keyed = _KEYED.search(named)
    code = (
        f"17track:{keyed[1]}"
        if keyed
        else SHEET_NAMES.get(re.sub(r"[\s_-]+", "", named.lower())) or carrier_code(named)
    )
    if code is None:
        known = ", ".join(a.name for c, a in registry.ADAPTERS.items() if c != "17track")
        cells.fail(
            sheet.CARRIER,
            f"unknown carrier {named!r}; known: {known}, '17track:<key>' (any carrier 17TRACK "
            "knows, by its carrier key) and 'Other: <name>' (one we do not track)",
        )
        return None, None
    try:
        return validate_carrier(code), None
    except ValidationFailed as exc:
        cells.fail(sheet.CARRIER, exc.detail.removeprefix("carrier: "))
        return None, None


def _not_future(cells: Cells, column: str, moment: datetime | None, now: datetime) -> None:
    if moment is not None and moment > now + MAX_CLOCK_SKEW:
        cells.fail(column, "is in the future")


def parse_row(
    row: int, raw: dict[str, object], *, now: datetime, date_order: DateOrder = "iso"
) -> tuple[TrackerRow | None, list[RowError]]:
    """Check one row; a ``TrackerRow`` only when nothing is wrong with it. ``date_order`` reads
    dates such as 03/04/2026 (see ``cells``)."""
    errors: list[RowError] = []
    cells = Cells(row, raw, errors, date_order=date_order)
    for required in (sheet.ORDER_ID, sheet.TRACKING_NUMBER):
        if cells.text(required) is None:
            cells.fail(required, "required")
    email, ticket = split_contact(cells.text(sheet.CUSTOMER_CONTACT))
    customer = {
        "name": cells.text("Customer Name"),
        "email": email,
        "phone": cells.text("Customer Phone"),
        "locale": cells.text("Customer Locale"),
        "ticket_ref": ticket,
    }
    parcel: ParcelCreate | None = validated(
        ParcelCreate,
        {
            "order_id": cells.text(sheet.ORDER_ID) or "",
            "order_date": cells.day(sheet.ORDER_DATE),
            "tracking_number": cells.text(sheet.TRACKING_NUMBER) or "",
            "customer": customer if any(customer.values()) else None,
            "origin_country": cells.text("Origin Country"),
            "destination_country": cells.text("Destination Country"),
        },
        cells,
        _PARCEL_FIELDS,
    )
    carrier, other_name = _carrier(cells, parcel.tracking_number if parcel else None)
    if parcel is not None and other_name is not None:
        parcel = parcel.model_copy(update={"carrier_name": other_name})
    status_text = cells.text(sheet.RESOLUTION_STATUS) or "Open"
    state = sheet.parse_resolution_status(status_text)
    if state is None:
        allowed = ", ".join(sheet.allowed_statuses())
        cells.fail(sheet.RESOLUTION_STATUS, f"{status_text!r} is not one of: {allowed}")
    status, resolution = state or ("open", None)
    resolved = status == "resolved"
    reported = cells.when(sheet.CUSTOMER_REPORTED)
    times = {
        "customer_reported_at": reported,
        "detected_at": cells.when("Detected At"),
        "first_response_at": cells.when("First Response At"),
        "resolved_at": cells.when("Resolved At"),
    }
    opened_at = cells.when("Opened At") or reported or now
    for column, moment in (
        (sheet.CUSTOMER_REPORTED, reported),
        ("Detected At", times["detected_at"]),
        ("First Response At", times["first_response_at"]),
        ("Resolved At", times["resolved_at"]),
        ("Opened At", opened_at),
    ):
        _not_future(cells, column, moment, now)
    if times["resolved_at"] is not None and not resolved:
        cells.fail("Resolved At", f"only for a resolved incident (status is {status_text!r})")
    if resolved:
        resolved_at = times["resolved_at"] = times["resolved_at"] or now
        if resolved_at < opened_at:
            cells.fail("Resolved At", "is before the incident was opened")
    action = cells.text(sheet.NEXT_STEP, 500)
    due = cells.when(sheet.NEXT_STEP_DEADLINE)
    if not resolved and action and due is None:
        cells.fail(sheet.NEXT_STEP_DEADLINE, f"required with a {sheet.NEXT_STEP}")
    if not resolved and due and not action:
        cells.fail(sheet.NEXT_STEP, f"required with a {sheet.NEXT_STEP_DEADLINE}")
    compensation = _compensation(cells)
    root_cause_text = cells.text("Root Cause")
    values: dict[str, Any] = {
        **times,
        "description": cells.text("Description", 10_000),
        "communication_summary": cells.text(sheet.COMMUNICATION, 10_000),
        "next_step_action": None if resolved else action,
        "next_step_due_at": None if resolved else due,
        "substantiated": cells.yes_no("Substantiated"),
        "responsible_department": cells.text("Responsible Department", 100),
        "root_cause": cells.choice("Root Cause", typing.get_args(RootCause), "other")
        if root_cause_text
        else None,
        "proposed_solution": cells.text("Proposed Solution", 10_000),
        "lessons_learned": cells.text("Lessons Learned", 10_000),
        **compensation,
    }
    incident_type = cells.choice("Incident Type", typing.get_args(IncidentType), "other")
    source = cells.choice("Source", SOURCES, "customer")
    last_scan = _last_scan(cells)
    _not_future(cells, sheet.LAST_UPDATE_DATE, last_scan.at if last_scan else None, now)
    log, notes = _log(cells, now)
    if errors or parcel is None or carrier is None:
        missing = {e.column for e in errors if e.reason == "required"}
        return None, [e for e in errors if e.column not in missing or e.reason == "required"]
    return TrackerRow(
        row=row,
        carrier=carrier,
        parcel=parcel,
        last_scan=last_scan,
        type=incident_type,
        source=source,
        status=status,
        resolution=resolution,
        opened_at=opened_at,
        values=values,
        log=log,
        notes=notes,
    ), []


def _compensation(cells: Cells) -> dict[str, Any]:
    kind = cells.text("Compensation Kind")
    given: dict[str, Any] = {
        "kind": re.sub(r"[\s-]+", "_", kind.lower()) if kind else None,
        "amount": cells.decimal("Compensation Amount"),
        "currency": cells.text("Compensation Currency"),
        "percent": cells.decimal("Compensation Percent"),
    }
    empty = {f"compensation_{name}": None for name in given}
    if all(value is None for value in given.values()):
        return empty
    columns = {name: f"Compensation {name.title()}" for name in given}
    columns[""] = "Compensation Kind"
    checked: Compensation | None = validated(
        Compensation, {k: v for k, v in given.items() if v is not None}, cells, columns
    )
    if checked is None:
        return empty
    return {f"compensation_{name}": getattr(checked, name) for name in given}
