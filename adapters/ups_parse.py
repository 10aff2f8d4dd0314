"""Pure parsing of UPS Track API v1 answers into the normalised scan model (no I/O, no clock).

Split from ``adapters/ups.py`` so the status tables and the parser stay readable and are
tested without HTTP. Sources are in ``docs/carriers.md`` §3 and §6.

How a UPS activity becomes a ``Scan``:

- **Status** (``status_for``). Each activity carries ``status.type`` (a letter: I, D, X,
  M ...), ``status.code`` (a 2-character scan code such as ``OT``) and ``status.statusCode``
  (a 3-digit status/description code such as ``072``). The 3-digit code is the more specific,
  so it wins when ``STATUS_TABLE`` knows it (type X + 012 is a customs hold, type I + 072 is
  out for delivery); otherwise the type decides (``ACTIVITY_TYPES``); otherwise the code is
  counted by
  ``record_unmapped`` and the scan is ``unknown``. ``raw_code`` keeps all three as
  ``"<type>/<statusCode>/<code>"`` (e.g. ``"D/011/FS"``; a missing part stays empty).
- **Time.** ``occurred_at`` comes from ``gmtDate`` + ``gmtTime``, which are already UTC
  (``gmtOffset`` is the offset of the *local* time, never applied to them again). Only when
  the GMT fields are absent or unreadable do we fall back to local ``date`` + ``time``: shifted
  by ``gmtOffset`` when there is one, else placed by ``adapters.zones.place`` from the
  activity's address (ZIP code, ``stateProvince``, city, country), else from the package's
  ``DESTINATION`` address or the query's destination country, else read as UTC (UPS's REST API
  once sent no GMT fields at all, UPS-API/api-documentation #38; docs/carriers.md §8). Each
  scan counts how with ``record_time_zone``. Formats seen: ``gmtDate`` ``YYYYMMDD`` (spec and
  practice) or ``YYYY-MM-DD`` (legacy XML); ``gmtTime`` ``HH:MM:SS`` (practice), ``HHMMSS``,
  or not zero-padded like ``74700`` (the spec example). ``raw_timestamp`` keeps every field.
  An activity with no readable time at all is skipped and logged.
- **Unknown numbers** come back as HTTP 200 with a ``TW0001`` warning and no package; error
  bodies (``{"response": {"errors": [{code, message}]}}``, HTTP 400/404) carry codes such as
  ``151018`` (invalid tracking number). Both are per-number ``not_found``; other per-number
  errors become ``TrackingResult.failed``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from adapters.base import (
    CarrierMalformedResponse,
    Location,
    Scan,
    ScanStatus,
    TrackingResult,
    record_time_zone,
    record_unmapped,
)
from adapters.checkdigits import normalise_number
from adapters.estimates import ups_window
from adapters.zones import Placed, place

CARRIER = "ups"
S = ScanStatus
logger = logging.getLogger("adapters.ups")

# 3-digit ``status.statusCode`` (UPS appendix "Status/Description Codes"; mapping per
# docs/carriers.md §3.5 unless marked "ours").
STATUS_TABLE: dict[str, ScanStatus] = {
    "003": S.INFO_RECEIVED,  # Shipment ready for UPS (label created)
    "044": S.INFO_RECEIVED,  # On the way to UPS (not yet handed over; ours)
    "045": S.INFO_RECEIVED,  # On the way to UPS (not yet handed over; ours)
    "079": S.INFO_RECEIVED,  # Order processed: in transit to UPS
    "080": S.INFO_RECEIVED,  # Order processed: ready for UPS
    "157": S.INFO_RECEIVED,  # Shipment ready for UPS
    "038": S.ACCEPTED,  # Picked up by UPS
    "160": S.ACCEPTED,  # We have your package
    "167": S.ACCEPTED,  # Dropped off at a UPS Store by the customer
    "168": S.ACCEPTED,  # Dropped off at a retail location by the customer
    "169": S.ACCEPTED,  # Dropped off at a UPS Access Point by the customer
    "005": S.IN_TRANSIT,  # On the way
    "010": S.IN_TRANSIT,  # On the way
    "014": S.IN_TRANSIT,  # Clearance completed
    "025": S.IN_TRANSIT,  # On the way (transferred to local post office for delivery)
    "039": S.IN_TRANSIT,  # On the way
    "047": S.IN_TRANSIT,  # On the way
    "071": S.IN_TRANSIT,  # Preparing for delivery
    "084": S.IN_TRANSIT,  # Cleared (customs)
    "087": S.IN_TRANSIT,  # On the way
    "134": S.IN_TRANSIT,  # Cleared import customs
    "158": S.IN_TRANSIT,  # On the way (ours)
    "159": S.IN_TRANSIT,  # On the way (ours)
    "164": S.IN_TRANSIT,  # On the way (ours)
    "165": S.IN_TRANSIT,  # On the way (ours)
    "032": S.IN_TRANSIT,  # Adverse weather may cause delay (carrier_delay)
    "046": S.IN_TRANSIT,  # Delay (carrier_delay)
    "048": S.IN_TRANSIT,  # Delay (carrier_delay)
    "051": S.IN_TRANSIT,  # Delay: emergency situation or severe weather (carrier_delay)
    "052": S.IN_TRANSIT,  # Delay: severe weather (carrier_delay)
    "053": S.IN_TRANSIT,  # Delay: severe weather (carrier_delay)
    "086": S.IN_TRANSIT,  # Delay (carrier_delay)
    "090": S.IN_TRANSIT,  # Delay (carrier_delay)
    "132": S.IN_TRANSIT,  # Airport security delay (carrier_delay; ours)
    "012": S.CUSTOMS_HOLD,  # Clearance in progress
    "092": S.CUSTOMS_HOLD,  # Customs clearance in progress
    "058": S.CUSTOMS_HOLD,  # Clearance information required
    "123": S.CUSTOMS_HOLD,  # Pending release from a non-UPS broker
    "124": S.CUSTOMS_HOLD,  # Clearance information needed
    "125": S.CUSTOMS_HOLD,  # Clearance information needed
    "126": S.CUSTOMS_HOLD,  # Pending government agency release
    "006": S.OUT_FOR_DELIVERY,  # Out for delivery
    "021": S.OUT_FOR_DELIVERY,  # Out for delivery
    "037": S.OUT_FOR_DELIVERY,  # Out for delivery
    "072": S.OUT_FOR_DELIVERY,  # Loaded on delivery vehicle
    "089": S.OUT_FOR_DELIVERY,  # Out for delivery
    "091": S.OUT_FOR_DELIVERY,  # Out for delivery
    "146": S.OUT_FOR_DELIVERY,  # Out for delivery
    "162": S.OUT_FOR_DELIVERY,  # Out for delivery
    "022": S.FAILED_ATTEMPT,  # First delivery attempt made
    "023": S.FAILED_ATTEMPT,  # Second delivery attempted
    "024": S.FAILED_ATTEMPT,  # Final delivery attempt made
    "060": S.FAILED_ATTEMPT,  # Delivery attempted
    "061": S.FAILED_ATTEMPT,  # Delivery attempted: adult signature required
    "062": S.FAILED_ATTEMPT,  # Delivery attempted: funds required
    "066": S.FAILED_ATTEMPT,  # Post office delivery attempted
    "145": S.FAILED_ATTEMPT,  # Delivery attempted
    "017": S.AVAILABLE_FOR_PICKUP,  # Held for customer pickup
    "040": S.AVAILABLE_FOR_PICKUP,  # Ready for customer pickup
    "144": S.AVAILABLE_FOR_PICKUP,  # Delivered to post office for pickup
    "161": S.AVAILABLE_FOR_PICKUP,  # Delivered to a UPS Access Point
    "011": S.DELIVERED,  # Delivered
    "026": S.DELIVERED,  # Delivered by local post office
    "143": S.DELIVERED,  # Delivered to agent
    "013": S.EXCEPTION,  # Exception
    "029": S.EXCEPTION,  # Exception: action required
    "049": S.EXCEPTION,  # Delay: action required (also carrier_delay)
    "050": S.EXCEPTION,  # Address information required
    "059": S.EXCEPTION,  # Damage reported
    "064": S.EXCEPTION,  # Delivery refused
    "068": S.EXCEPTION,  # Sent to lost and found
    "069": S.EXCEPTION,  # Unable to deliver
    "147": S.EXCEPTION,  # Seized by law enforcement, no longer in UPS possession
    "149": S.EXCEPTION,  # Prohibited contents, package destroyed
    "033": S.RETURNED_TO_SENDER,  # Return to sender requested
    "034": S.RETURNED_TO_SENDER,  # Returned to sender
    "035": S.RETURNED_TO_SENDER,  # Returning to sender
    "036": S.RETURNED_TO_SENDER,  # Returning to sender: in transit
    "067": S.RETURNED_TO_SENDER,  # Returned to sender by post office
    "081": S.RETURNED_TO_SENDER,  # Returned: damage reported
    "118": S.RETURNED_TO_SENDER,  # Return to sender confirmed
    "119": S.RETURNED_TO_SENDER,  # Return to sender requested
    "007": S.CANCELLED,  # Shipment information voided
    "000": S.UNKNOWN,  # Status not available
    "043": S.UNKNOWN,  # Voided pickup (a pickup request, not the parcel)
    "148": S.UNKNOWN,  # Package information unavailable
    "163": S.UNKNOWN,  # Package information unavailable
}

# Delay announcements: the parcel keeps its status and the scan gets ``carrier_delay``.
DELAY_CODES = frozenset({"032", "046", "048", "049", "051", "052", "053", "086", "090", "132"})

# ``status.type`` (UPS appendix "Package Activity Types"; P and RS from legacy XML guides;
# docs/carriers.md §3.5).
ACTIVITY_TYPES: dict[str, ScanStatus] = {
    "M": S.INFO_RECEIVED,  # Billing information received (label / manifest)
    "P": S.ACCEPTED,  # Pickup (legacy XML guide) [?] in the REST API
    "I": S.IN_TRANSIT,  # In transit (also out for delivery; statusCode refines)
    "DO": S.IN_TRANSIT,  # Delivered to origin CFS (freight; still moving)
    "DD": S.IN_TRANSIT,  # Delivered to destination CFS (freight; not yet to the consignee)
    "W": S.IN_TRANSIT,  # Warehousing (freight)
    "D": S.DELIVERED,  # Delivered
    "X": S.EXCEPTION,  # Exception
    "RS": S.RETURNED_TO_SENDER,  # Returned to shipper (legacy) [?] in the REST API
    "MV": S.CANCELLED,  # Billing information voided
    "NA": S.UNKNOWN,  # Not available
    "U": S.UNKNOWN,  # Update only (Track Alert); no status change
}

# Answers that mean "UPS does not know this number" rather than a failure.
# TW0001: warning in a 200, "Tracking Information Not Found"; 151018: error body, "Invalid
# tracking number"; TV1002: error body, "Invalid inquiry number".
NOT_FOUND_CODES = frozenset({"TW0001", "151018", "TV1002"})

# Scans whose UPS description is the reason for a problem.
_PROBLEMS = frozenset({S.EXCEPTION, S.FAILED_ATTEMPT, S.CUSTOMS_HOLD, S.RETURNED_TO_SENDER})
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")
_CLOCK = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


def parse_tracking(
    body: Any,
    numbers: Sequence[str],
    *,
    http_status: int = 200,
    destination_country: str | None = None,
) -> list[TrackingResult]:
    """One result per number, in order, from one decoded Track API body (200, 400 or 404).

    ``destination_country`` (the query's) places local times that carry no offset when the
    package names no destination country.
    """
    if not isinstance(body, dict):
        raise _malformed("body is not a JSON object", body)
    track = body.get("trackResponse")
    if track is None:
        errors = _error_list(body)
        if errors is None:
            raise _malformed("neither trackResponse nor response.errors", body)
        return [_from_errors(number, errors, http_status) for number in numbers]
    shipments = track.get("shipment") if isinstance(track, dict) else None
    if not isinstance(shipments, list) or not all(isinstance(s, dict) for s in shipments):
        raise _malformed("trackResponse.shipment is not a list of objects", body)
    packages = [_packages(shipment, body) for shipment in shipments]
    results = []
    for number in numbers:
        index = _shipment_index(number, shipments, packages, len(numbers))
        if index is None:
            results.append(TrackingResult.failed(number, "UPS answer names no such shipment"))
        else:
            results.append(
                _from_shipment(number, shipments[index], packages[index], body, destination_country)
            )
    return results


def _packages(shipment: dict[str, Any], body: Any) -> list[dict[str, Any]]:
    packages = shipment.get("package", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise _malformed("shipment.package is not a list of objects", body)
    return packages


def _shipment_index(
    number: str, shipments: list[dict[str, Any]], packages: list[list[dict[str, Any]]], asked: int
) -> int | None:
    """The shipment answering ``number``; a lone shipment answers a lone number."""
    key = normalise_number(number)
    for index, shipment in enumerate(shipments):
        names = [shipment.get("inquiryNumber"), *(p.get("trackingNumber") for p in packages[index])]
        if any(isinstance(name, str) and normalise_number(name) == key for name in names):
            return index
    return 0 if asked == 1 and len(shipments) == 1 else None


def _from_shipment(
    number: str,
    shipment: dict[str, Any],
    packages: list[dict[str, Any]],
    body: Any,
    destination_country: str | None,
) -> TrackingResult:
    if not packages:
        warnings = _pairs(shipment.get("warnings"))
        if not warnings or any(code in NOT_FOUND_CODES for code, _ in warnings):
            return TrackingResult.not_found(number)
        return TrackingResult.failed(number, _describe(warnings))
    key = normalise_number(number)
    package = next(
        (
            p
            for p in packages
            if isinstance(p.get("trackingNumber"), str)
            and normalise_number(p["trackingNumber"]) == key
        ),
        packages[0],
    )
    activities = package.get("activity", [])
    if not isinstance(activities, list) or not all(isinstance(a, dict) for a in activities):
        raise _malformed("package.activity is not a list of objects", body)
    destination = _destination(package, destination_country)
    # UPS lists the newest first; parse oldest first so equal times keep their real order
    scans = [
        scan
        for act in reversed(activities)
        if (scan := parse_activity(act, destination=destination)) is not None
    ]
    return TrackingResult.found(number, scans, estimate=ups_window(package))


def _destination(package: dict[str, Any], country: str | None) -> Location:
    """The package's ``DESTINATION`` address; the query's country when it names none."""
    addresses = package.get("packageAddress")
    found = next(
        (
            _location(entry)
            for entry in (addresses if isinstance(addresses, list) else [])
            if isinstance(entry, dict) and (_text(entry.get("type")) or "").upper() == "DESTINATION"
        ),
        Location(),
    )
    wanted = (country or "").strip().upper()
    if found.country is None and len(wanted) == 2 and wanted.isascii() and wanted.isalpha():
        found = replace(found, country=wanted)
    return found


def _from_errors(number: str, errors: list[tuple[str, str]], http_status: int) -> TrackingResult:
    if http_status == 404 or any(code in NOT_FOUND_CODES for code, _ in errors):
        return TrackingResult.not_found(number)
    return TrackingResult.failed(number, _describe(errors) or f"UPS error (HTTP {http_status})")


def parse_activity(activity: dict[str, Any], *, destination: Location | None = None) -> Scan | None:
    """One UPS activity as a Scan; ``None`` (logged) when it has no readable time."""
    when = occurred_at(activity, destination=destination)
    raw_timestamp = _raw_timestamp(activity)
    if when is None:
        logger.warning("UPS activity without a readable time", extra={"raw": raw_timestamp})
        return None
    record_time_zone(CARRIER, when.how)
    status = activity.get("status")
    status = status if isinstance(status, dict) else {}
    kind, code, status_code = (_text(status.get(k)) for k in ("type", "code", "statusCode"))
    raw_text = _raw(status.get("description")) or _raw(status.get("simplifiedTextDescription"))
    raw_code = f"{kind or ''}/{status_code or ''}/{code or ''}"
    normalised, delay = status_for(kind, status_code, raw_code, raw_text)
    description = (raw_text or "").strip() or f"UPS status {raw_code}"
    problem = normalised in _PROBLEMS or kind == "X"
    return Scan(
        status=normalised,
        occurred_at=when.at,
        description=description,
        location=_location(activity.get("location")),
        raw_code=raw_code,
        raw_text=raw_text,
        raw_timestamp=raw_timestamp,
        carrier_delay=delay,
        exception_reason=description if problem and raw_text else None,
    )


def status_for(
    kind: str | None, status_code: str | None, raw_code: str, text: str | None
) -> tuple[ScanStatus, bool]:
    """(status, carrier_delay): the 3-digit code wins over the type; unknown is counted."""
    code = status_code.zfill(3) if status_code and status_code.isdigit() else status_code
    delay = code in DELAY_CODES
    if code in STATUS_TABLE:
        return STATUS_TABLE[code], delay
    if kind in ACTIVITY_TYPES:
        return ACTIVITY_TYPES[kind], delay
    return record_unmapped(CARRIER, raw_code, text), delay


def occurred_at(activity: dict[str, Any], *, destination: Location | None = None) -> Placed | None:
    """UTC time of an activity and how it was placed: the GMT fields (already UTC) first,
    else local time shifted by ``gmtOffset``, else local time placed where it happened."""
    gmt = _combine(_text(activity.get("gmtDate")), _text(activity.get("gmtTime")), UTC)
    if gmt is not None:
        return Placed(gmt, "offset")
    offset = _offset(_text(activity.get("gmtOffset")))
    local = _combine(_text(activity.get("date")), _text(activity.get("time")), offset)
    if local is None:
        return None
    try:
        return place(local, _location(activity.get("location")), destination=destination)
    except (OverflowError, ValueError):
        return None


def _combine(date_text: str | None, time_text: str | None, zone: tzinfo | None) -> datetime | None:
    """A datetime from UPS's date and time texts; naive when ``zone`` is None."""
    if not date_text or not time_text:
        return None
    digits = date_text.replace("-", "")
    if len(digits) != 8 or not digits.isdigit() or not digits.isascii():
        return None
    clock = _CLOCK.fullmatch(time_text)
    if clock:
        hour, minute, second = (int(part or 0) for part in clock.groups())
    elif time_text.isdigit() and time_text.isascii() and len(time_text) <= 6:
        padded = time_text.zfill(6)  # the spec's example "74700" is 07:47:00
        hour, minute, second = int(padded[:2]), int(padded[2:4]), int(padded[4:])
    else:
        return None
    try:
        return datetime(
            int(digits[:4]), int(digits[4:6]), int(digits[6:]), hour, minute, second, tzinfo=zone
        )
    except ValueError:
        return None


def _offset(text: str | None) -> tzinfo | None:
    match = _OFFSET.fullmatch(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def _location(value: Any) -> Location:
    address = value.get("address") if isinstance(value, dict) else None
    if not isinstance(address, dict):
        return Location()
    return Location(
        city=_text(address.get("city")),
        region=_text(address.get("stateProvince")),
        postal_code=_text(address.get("postalCode")),
        country=_country(address),
    )


def _country(address: dict[str, Any]) -> str | None:
    """ISO alpha-2, upper case; UPS sends both ``countryCode`` and ``country`` as codes."""
    for key in ("countryCode", "country"):
        code = (_text(address.get(key)) or "").upper()
        if len(code) == 2 and code.isascii() and code.isalpha():
            return code
    return None


def _raw_timestamp(activity: dict[str, Any]) -> str | None:
    fields = ("gmtDate", "gmtTime", "gmtOffset", "date", "time")
    parts = [f"{name}={value}" for name in fields if (value := _raw(activity.get(name)))]
    return " ".join(parts) or None


def _error_list(body: dict[str, Any]) -> list[tuple[str, str]] | None:
    response = body.get("response")
    errors = response.get("errors") if isinstance(response, dict) else None
    return _pairs(errors) if isinstance(errors, list) else None


def _pairs(items: Any) -> list[tuple[str, str]]:
    """(code, message) of each well-formed UPS warning or error."""
    if not isinstance(items, list):
        return []
    return [
        (_text(item.get("code")) or "", _text(item.get("message")) or "")
        for item in items
        if isinstance(item, dict)
    ]


def _describe(pairs: list[tuple[str, str]]) -> str:
    return "; ".join(f"UPS {code}: {message}".strip() for code, message in pairs)


def _raw(value: Any) -> str | None:
    """A leaf exactly as sent (UPS pads some texts); numbers accepted, other types not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


def _text(value: Any) -> str | None:
    raw = _raw(value)
    if raw is None:
        return None
    return raw.strip() or None


def _malformed(message: str, body: Any) -> CarrierMalformedResponse:
    try:
        raw = json.dumps(body)[:4096]
    except (TypeError, ValueError):
        raw = repr(body)[:4096]
    return CarrierMalformedResponse(CARRIER, message, raw)
