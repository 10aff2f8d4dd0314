"""The seller's resolution tracker as a spreadsheet: its columns, in its order, and its wording.

One incident is one row. The first thirteen columns are the tracker sellers already keep (the
order, the customer, the carrier and tracking, what happened, what comes next, how it ended);
the rest carry every other field of the incident, so an export can be imported back whole.

Cell values are typed (``date``, aware ``datetime``, ``Decimal``, ``bool``, ``str``): each
writer renders them its own way (ISO 8601 in CSV, real dates in XLSX). Pure: no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from app.carriers import service as carriers
from app.core.schemas import money_amount
from app.incidents.models import Incident, TimelineEntry
from app.incidents.views import format_number, is_overdue
from app.parcels.models import Parcel

CellValue = str | date | datetime | Decimal | bool | None

ORDER_ID = "Order ID"
ORDER_DATE = "Order Date"
CUSTOMER_CONTACT = "Customer Contact"
CARRIER = "Carrier"
TRACKING_NUMBER = "Tracking Number"
LAST_UPDATE = "Last Tracking Update"
LAST_UPDATE_DATE = "Last Tracking Update Date"
CUSTOMER_REPORTED = "Customer Reported Date"
ACTION_LOG = "Internal Action Log"
COMMUNICATION = "Communication Summary"
NEXT_STEP = "Next Step"
NEXT_STEP_DEADLINE = "Next Step Deadline"
RESOLUTION_STATUS = "Resolution Status"

TRACKER_COLUMNS = (
    ORDER_ID, ORDER_DATE, CUSTOMER_CONTACT, CARRIER, TRACKING_NUMBER, LAST_UPDATE,
    LAST_UPDATE_DATE, CUSTOMER_REPORTED, ACTION_LOG, COMMUNICATION, NEXT_STEP,
    NEXT_STEP_DEADLINE, RESOLUTION_STATUS,
)  # fmt: skip
EXTRA_COLUMNS = (
    "Incident Number", "Incident Type", "Source", "Description", "Opened At", "Detected At",
    "First Response At", "Resolved At", "Overdue", "Substantiated", "Responsible Department",
    "Root Cause", "Proposed Solution", "Compensation Kind", "Compensation Amount",
    "Compensation Currency", "Compensation Percent", "Lessons Learned", "Customer Name",
    "Customer Phone", "Customer Locale", "Origin Country", "Destination Country",
    "Last Tracking Status", "Tracking URL", "Incident ID", "Updated At",
)  # fmt: skip
COLUMNS: tuple[str, ...] = TRACKER_COLUMNS + EXTRA_COLUMNS
# computed or ours alone: an import reads them, never trusts them
READ_ONLY_COLUMNS = frozenset(
    {"Incident Number", "Overdue", "Tracking URL", "Incident ID", "Updated At"}
)

STATUS_WORDS = {
    "open": "Open",
    "in_progress": "In Progress",
    "awaiting_customer": "Awaiting Customer",
    "awaiting_carrier": "Awaiting Carrier",
    "escalated": "Escalated",
}
RESOLUTION_WORDS = {
    "delivered": "Delivered",
    "refunded": "Refunded",
    "partially_refunded": "Partially Refunded",
    "reshipped": "Reshipped",
    "compensated": "Compensated",
    "rejected": "Rejected",
    "cancelled": "Cancelled",
}
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M UTC"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().-]*$")  # "+49 30 901820", "-5": numbers, not formulas
LOCATION_SEPARATOR = " — "
_SPACES = re.compile(r"\s+")


def resolution_status(status: str, resolution: str | None) -> str:
    """ "Open", "In Progress", ..., "Resolved (Refunded)", "Resolved (Delivered)"."""
    if status == "resolved":
        return f"Resolved ({RESOLUTION_WORDS.get(resolution or '', resolution or 'Unknown')})"
    return STATUS_WORDS.get(status, status.replace("_", " ").title())


def parse_resolution_status(text: str) -> tuple[str, str | None] | None:
    """The (status, resolution) a Resolution Status cell names, or None if it names none."""
    words = _SPACES.sub(" ", text.strip()).lower()
    for status, word in STATUS_WORDS.items():
        if words in (word.lower(), status):
            return status, None
    for resolution, word in RESOLUTION_WORDS.items():
        if words in (f"resolved ({word.lower()})", f"resolved ({resolution})"):
            return "resolved", resolution
    return None


def allowed_statuses() -> list[str]:
    resolved = [f"Resolved ({word})" for word in RESOLUTION_WORDS.values()]
    return [*STATUS_WORDS.values(), *resolved]


def customer_contact(email: str | None, ticket_ref: str | None) -> str:
    """ "maria@example.com; ticket ZD-4411": how to reach the customer and where it is filed."""
    parts = [email] if email else []
    if ticket_ref:
        parts.append(f"ticket {ticket_ref}")
    return "; ".join(parts)


def last_update_text(parcel: Parcel) -> str:
    """The newest scan as a person reads it: "Arrived at facility — Leipzig, DE"."""
    if parcel.last_scan_at is None:
        return ""
    place = ", ".join(p for p in (parcel.last_scan_city, parcel.last_scan_country) if p)
    text = parcel.last_scan_description or ""
    return f"{text}{LOCATION_SEPARATOR}{place}" if place else text


def log_line(entry: TimelineEntry) -> str:
    """One dated line of the internal action log: "2026-03-12 09:30 UTC | anna | note | ..."."""
    summary = _SPACES.sub(" ", entry.summary).strip()
    when = utc_time(entry.occurred_at).strftime(LOG_TIME_FORMAT)
    return f"{when} | {_SPACES.sub(' ', entry.actor_name).strip()} | {entry.kind} | {summary}"


def action_log(entries: Sequence[TimelineEntry]) -> str:
    ordered = sorted(entries, key=lambda e: (e.occurred_at, e.seq))
    return "\n".join(log_line(entry) for entry in ordered)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One incident as tracker cells, plus what the XLSX writer needs to decorate them."""

    values: tuple[CellValue, ...]
    tracking_url: str
    overdue: bool


def sheet_carrier(parcel: Parcel) -> str:
    return carrier_cell(parcel.carrier, parcel.carrier_name)


def carrier_cell(carrier: str, named: str | None) -> str:
    """The Carrier cell: its name, and "Other: <name>" for a carrier we do not track, so an
    exported sheet imports again as it was."""
    name = carriers.carrier_name(carrier, named=named)
    return f"Other: {name}" if carrier == carriers.OTHER else name


def tracking_url_cell(carrier: str, number: str, template: str | None) -> str:
    """The carrier's page, or none for a carrier code no longer known: an old row must never
    break the export of the others."""
    try:
        return carriers.tracking_url(carrier, number, template=template)
    except (KeyError, ValueError, LookupError):
        return ""


def _tracking_url(parcel: Parcel) -> str:
    return tracking_url_cell(parcel.carrier, parcel.tracking_number, parcel.tracking_url_template)


def sheet_row(
    incident: Incident,
    parcel: Parcel,
    entries: Sequence[TimelineEntry],
    *,
    now: datetime,
    communication: str | None = None,
) -> SheetRow:
    """``communication``: the Communication Summary cell when the caller built it with the
    messages (``app.tracker_sheet.communication``); else the hand-written summary alone."""
    url = _tracking_url(parcel)
    overdue = is_overdue(incident, now)
    values: tuple[CellValue, ...] = (
        parcel.order_id,
        parcel.order_date,
        customer_contact(parcel.customer_email, parcel.customer_ticket_ref),
        sheet_carrier(parcel),
        parcel.tracking_number,
        last_update_text(parcel),
        parcel.last_scan_at,
        incident.customer_reported_at,
        action_log(entries),
        communication if communication is not None else incident.communication_summary,
        incident.next_step_action,
        incident.next_step_due_at,
        resolution_status(incident.status, incident.resolution),
        format_number(incident.number),
        incident.type,
        incident.source,
        incident.description,
        incident.opened_at,
        incident.detected_at,
        incident.first_response_at,
        incident.resolved_at,
        _yes_no(overdue),
        _yes_no(incident.substantiated),
        incident.responsible_department,
        incident.root_cause,
        incident.proposed_solution,
        incident.compensation_kind,
        money(incident.compensation_amount, incident.compensation_currency),
        incident.compensation_currency,
        incident.compensation_percent.normalize()
        if incident.compensation_percent is not None
        else None,
        incident.lessons_learned,
        parcel.customer_name,
        parcel.customer_phone,
        parcel.customer_locale,
        parcel.origin_country,
        parcel.destination_country,
        parcel.last_scan_status if parcel.last_scan_at else None,
        url,
        str(incident.id),
        incident.updated_at,
    )
    assert len(values) == len(COLUMNS)
    return SheetRow(values=values, tracking_url=url, overdue=overdue)


def money(amount: Decimal | None, currency: str | None) -> Decimal | None:
    """An amount with its currency's minor units (59.90 EUR, 5990 JPY), as the API writes it;
    as stored when the currency is one we cannot place."""
    if amount is None or not currency:
        return amount
    try:
        return money_amount(amount, currency)
    except (ArithmeticError, ValueError, LookupError):
        return amount


def utc_time(value: datetime) -> datetime:
    """``value`` in UTC; as it is when the conversion cannot be made (a naive or extreme
    value): a cell shows what is stored rather than break the export."""
    try:
        return value.astimezone(UTC) if value.tzinfo is not None else value
    except OverflowError:
        return value


def csv_cell(value: CellValue) -> str:
    """CSV text: times ISO 8601 in UTC to the second, dates ISO, numbers as the row has them."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc_time(value).replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return _yes_no(value)
    return defuse_formula(value)


def defuse_formula(text: str) -> str:
    """A leading apostrophe on text a spreadsheet would run as a formula (CSV injection).

    The import takes the apostrophe off again, so a round trip keeps the text as it was.
    """
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def undo_defuse(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
