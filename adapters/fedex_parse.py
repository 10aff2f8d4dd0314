"""FedEx Track API v1 responses -> normalised scans: pure, no I/O, no clock.

Kept apart from ``adapters/fedex.py`` so the contract test and the benchmark can parse
fixtures without building an HTTP client. Shape (``docs/carriers.md`` §2.3)::

    { transactionId, output: { alerts?, completeTrackResults: [ { trackingNumber,
        trackResults: [ { trackingNumberInfo, latestStatusDetail, scanEvents: [...], error? } ]
    } ] } }

Rules worth knowing before changing anything here:

- An unknown number is HTTP 200 with ``error.code == TRACKING.TRACKINGNUMBER.NOTFOUND`` in its
  track result: that is ``not_found``. Any other per-number error is ``failed``.
- FedEx may hold several shipments under one number (numbers are reused); each is one entry of
  ``trackResults``. The one whose newest scan is newest is ours.
- ``scanEvents`` come newest first; ``date`` carries the local offset, but recorded production
  answers also hold offset-less times (``2024-08-15T00:00:00`` on a pickup). Such a time takes
  the offset of the nearest scan of the same shipment that has one, else UTC.
- Carrier-announced delays (``DY``/``DD``/``PD`` or a ``delayDetail`` that is not on time) keep
  their status and set ``carrier_delay``; ``latestStatusDetail`` adds its delay and its
  ``ancillaryDetails`` reason to the newest scan.
- Anything that is not the documented shape raises ``CarrierMalformedResponse`` when it sinks
  the whole body, and becomes that number's ``failed`` result when only one number is unreadable.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from adapters.base import (
    CarrierMalformedResponse,
    Location,
    Scan,
    ScanStatus,
    TrackingResult,
    record_unmapped,
)
from adapters.checkdigits import normalise_number
from adapters.estimates import fedex_window

CARRIER = "fedex"
S = ScanStatus

# FedEx event codes (``scanEvents[].eventType``; ``derivedStatusCode`` when it is missing).
# Meanings from FedEx's "Tracking Status Codes" page (vendored in karrio), mapping from
# docs/carriers.md §2.5. Codes not listed here are counted by ``record_unmapped``.
STATUS_TABLE: dict[str, ScanStatus] = {
    "OC": S.INFO_RECEIVED,  # Order created: label / shipment information sent to FedEx
    "EP": S.INFO_RECEIVED,  # Enroute to pickup: courier on the way, parcel not yet taken
    "IN": S.INFO_RECEIVED,  # Initiated / "Label created" (derived code seen in live answers)
    "PU": S.ACCEPTED,  # Picked up
    "PX": S.ACCEPTED,  # Picked up (see details)
    "AP": S.ACCEPTED,  # At pickup: courier at the shipper's door
    "AA": S.IN_TRANSIT,  # At airport
    "AC": S.IN_TRANSIT,  # At Canada Post facility
    "AF": S.IN_TRANSIT,  # At local FedEx facility
    "AR": S.IN_TRANSIT,  # Arrived at FedEx location
    "AX": S.IN_TRANSIT,  # At USPS facility
    "CH": S.IN_TRANSIT,  # Location changed
    "DP": S.IN_TRANSIT,  # Departed
    "DR": S.IN_TRANSIT,  # Vehicle furnished but not used
    "DS": S.IN_TRANSIT,  # Vehicle dispatched
    "EA": S.IN_TRANSIT,  # Enroute to airport; also "Export approved" in the regulatory group
    "EO": S.IN_TRANSIT,  # Enroute to origin airport
    "FD": S.IN_TRANSIT,  # At FedEx destination
    "IT": S.IN_TRANSIT,  # In transit
    "IX": S.IN_TRANSIT,  # In transit (see details)
    "LO": S.IN_TRANSIT,  # Left origin
    "OF": S.IN_TRANSIT,  # At FedEx origin facility
    "OW": S.IN_TRANSIT,  # "Ow": On the way (FedEx spells it in mixed case)
    "OX": S.IN_TRANSIT,  # Shipment information sent to USPS (hand-over to the post)
    "PF": S.IN_TRANSIT,  # Plane in flight
    "PL": S.IN_TRANSIT,  # Plane landed
    "PM": S.IN_TRANSIT,  # In progress
    "SF": S.IN_TRANSIT,  # At sort facility
    "SP": S.IN_TRANSIT,  # Split status: pieces of one shipment at different places
    "TR": S.IN_TRANSIT,  # Transfer
    "AO": S.IN_TRANSIT,  # Shipment arriving on-time
    "AE": S.IN_TRANSIT,  # Shipment arriving early (seen in live answers, not in FedEx's table)
    "CC": S.IN_TRANSIT,  # Cleared customs ("International shipment release")
    "DY": S.IN_TRANSIT,  # Delay: stays in transit, flagged carrier_delay
    "DD": S.IN_TRANSIT,  # Delivery delay: stays in transit, flagged carrier_delay
    "PD": S.IN_TRANSIT,  # Pickup delay: stays in transit, flagged carrier_delay
    "CD": S.CUSTOMS_HOLD,  # Clearance delay
    "CP": S.CUSTOMS_HOLD,  # Clearance in progress
    "OD": S.OUT_FOR_DELIVERY,  # Out for delivery ("On FedEx vehicle for delivery")
    "ED": S.OUT_FOR_DELIVERY,  # Enroute to delivery
    "AD": S.OUT_FOR_DELIVERY,  # At delivery: courier at the recipient's address
    "DE": S.FAILED_ATTEMPT,  # Delivery exception: attempt not completed (reason in exception*)
    "HL": S.AVAILABLE_FOR_PICKUP,  # Hold at location: waiting at a FedEx location
    "HP": S.AVAILABLE_FOR_PICKUP,  # Ready for recipient pickup
    "DL": S.DELIVERED,  # Delivered
    "SE": S.EXCEPTION,  # Shipment exception (damage, address, ... in exceptionDescription)
    "RS": S.RETURNED_TO_SENDER,  # Return to shipper
    "CA": S.CANCELLED,  # Shipment cancelled
    "RR": S.UNKNOWN,  # CDO requested (delivery-option request; no movement)
    "RM": S.UNKNOWN,  # CDO modified (no movement)
    "RC": S.UNKNOWN,  # CDO cancelled (no movement)
    "RP": S.UNKNOWN,  # Return label link emailed to the return initiator
    "LP": S.UNKNOWN,  # Return label link cancelled by the shipment originator
    "RG": S.UNKNOWN,  # Return label link expiring
    "RD": S.UNKNOWN,  # Return label link expired
}
_STATUS_BY_CODE = {code.upper(): status for code, status in STATUS_TABLE.items()}

DELAY_CODES = frozenset({"DY", "DD", "PD"})
NOT_FOUND_CODES = frozenset({"TRACKING.TRACKINGNUMBER.NOTFOUND"})
# statuses whose exceptionDescription is a reason a person acts on (not e.g. a pickup address)
_REASON_STATUSES = frozenset(
    {S.CUSTOMS_HOLD, S.FAILED_ATTEMPT, S.EXCEPTION, S.RETURNED_TO_SENDER, S.CANCELLED}
)


class _Unreadable(Exception):
    """One number's track result is not in FedEx's shape; it becomes that number's error."""


def status_for(code: str, text: str | None = None) -> ScanStatus:
    """The normalised status of a FedEx event code; unknown codes are counted, never guessed."""
    status = _STATUS_BY_CODE.get(code.strip().upper())
    return status if status is not None else record_unmapped(CARRIER, code, text)


def parse_tracking(body: Any, numbers: Sequence[str]) -> list[TrackingResult]:
    """One ``TrackingResult`` per number, in the order of ``numbers``; see the module docstring."""
    if not isinstance(body, dict):
        raise _malformed("body is not a JSON object", body)
    output = body.get("output")
    if not isinstance(output, dict):
        errors = _error_summary(body.get("errors"))
        reason = f"FedEx answered with errors: {errors}" if errors else "no 'output' object"
        raise _malformed(reason, body)
    complete = output.get("completeTrackResults")
    if not isinstance(complete, list):
        raise _malformed("output.completeTrackResults is not a list", body)
    by_number: dict[str, list[dict[str, Any]]] = {}
    for entry in complete:
        if not isinstance(entry, dict):
            continue
        results = entry.get("trackResults")
        track_results = (
            [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
        )
        number = _text(entry.get("trackingNumber")) or _info_number(track_results)
        if number:
            by_number.setdefault(normalise_number(number), []).extend(track_results)
    return [_result_for(number, by_number.get(normalise_number(number))) for number in numbers]


def _result_for(number: str, track_results: list[dict[str, Any]] | None) -> TrackingResult:
    if not track_results:
        return TrackingResult.failed(number, "FedEx returned no result for this number")
    shipments: list[tuple[list[Scan], Mapping[str, Any]]] = []
    errors: list[tuple[str, str]] = []
    for track_result in track_results:
        error = track_result.get("error")
        if isinstance(error, dict) and (error.get("code") or error.get("message")):
            errors.append((_text(error.get("code")) or "", _text(error.get("message")) or ""))
            continue
        try:
            shipments.append((_scans(track_result), track_result))
        except _Unreadable as exc:
            errors.append(("UNREADABLE", str(exc)))
    if shipments:
        scans, chosen = max(shipments, key=lambda shipment: _newest(shipment[0]))
        return TrackingResult.found(number, scans, estimate=fedex_window(chosen))
    if any(code in NOT_FOUND_CODES for code, _ in errors):
        return TrackingResult.not_found(number)
    message = "; ".join(": ".join(p for p in pair if p) for pair in errors) or "no track result"
    return TrackingResult.failed(number, f"FedEx: {message}"[:500])


def _newest(scans: Sequence[Scan]) -> datetime:
    return max((s.occurred_at for s in scans), default=datetime.min.replace(tzinfo=UTC))


def _scans(track_result: Mapping[str, Any]) -> list[Scan]:
    events = track_result.get("scanEvents")
    if events is None:
        return []
    if not isinstance(events, list):
        raise _Unreadable("scanEvents is not a list")
    events = list(reversed(events))  # oldest first, so equal times keep FedEx's order
    times = [_local_time(event) for event in events]
    scans = [
        _scan(event, _to_utc(when, _borrowed_zone(times, index)))
        for index, (event, when) in enumerate(zip(events, times, strict=True))
    ]
    return _with_latest_detail(scans, track_result.get("latestStatusDetail"))


def _local_time(event: Any) -> datetime:
    if not isinstance(event, dict):
        raise _Unreadable("a scan event is not an object")
    raw = event.get("date")
    if not isinstance(raw, str) or not raw.strip():
        raise _Unreadable("a scan event has no date")
    try:
        return datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _Unreadable(f"unreadable scan date {raw[:40]!r}") from None


def _borrowed_zone(times: Sequence[datetime], index: int) -> tzinfo:
    """The offset of the nearest scan that has one, for a scan whose time has none."""
    zones = [when.tzinfo for when in times]
    for distance in range(len(times)):
        for neighbour in (index - distance, index + distance):
            zone = zones[neighbour] if 0 <= neighbour < len(zones) else None
            if zone is not None:
                return zone
    return UTC


def _to_utc(when: datetime, zone: tzinfo) -> datetime:
    try:
        return (when if when.tzinfo else when.replace(tzinfo=zone)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise _Unreadable(f"scan date out of range: {when.isoformat()}") from None


def _scan(event: Mapping[str, Any], occurred_at: datetime) -> Scan:
    code = _text(event.get("eventType")) or _text(event.get("derivedStatusCode"))
    text = _text(event.get("eventDescription")) or _text(event.get("derivedStatus"))
    status = status_for(code, text) if code else record_unmapped(CARRIER, "", text)
    delayed = (code or "").upper() in DELAY_CODES or _is_delayed(event.get("delayDetail"))
    reason = None
    if status in _REASON_STATUSES or delayed:
        exception_code = _text(event.get("exceptionCode"))
        reason = _text(event.get("exceptionDescription")) or (
            f"FedEx exception code {exception_code}" if exception_code else None
        )
    return Scan(
        status=status,
        occurred_at=occurred_at,
        description=text or code or "FedEx scan",
        location=_location(event.get("scanLocation")),
        raw_code=code,
        raw_text=text,
        raw_timestamp=str(event.get("date")),
        carrier_delay=delayed,
        exception_reason=reason,
    )


def _with_latest_detail(scans: list[Scan], latest: Any) -> list[Scan]:
    """Apply the shipment-level delay and reason FedEx reports to the newest scan."""
    if not scans or not isinstance(latest, dict):
        return scans
    index = max(range(len(scans)), key=lambda i: (scans[i].occurred_at, i))
    newest = scans[index]
    delayed = newest.carrier_delay or _is_delayed(latest.get("delayDetail"))
    reason = newest.exception_reason
    if reason is None and (newest.status in _REASON_STATUSES or delayed):
        reason = _ancillary_reason(latest.get("ancillaryDetails"))
    scans[index] = dataclasses.replace(newest, carrier_delay=delayed, exception_reason=reason)
    return scans


def _is_delayed(detail: Any) -> bool:
    """``delayDetail.status`` DELAYED, or a delay type given without any status."""
    if not isinstance(detail, dict):
        return False
    status = _text(detail.get("status"))
    if status is not None:
        return status.upper() == "DELAYED"
    return _text(detail.get("type")) is not None


def _ancillary_reason(details: Any) -> str | None:
    if not isinstance(details, list):
        return None
    for detail in details:
        if isinstance(detail, dict):
            reason = _text(detail.get("reasonDescription")) or _text(detail.get("reason"))
            if reason:
                return reason
    return None


def _location(raw: Any) -> Location:
    if not isinstance(raw, dict):
        return Location()
    country = _text(raw.get("countryCode"))
    if country is not None:
        country = country.upper()
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            country = None
    return Location(
        city=_text(raw.get("city")),
        region=_text(raw.get("stateOrProvinceCode")),
        postal_code=_text(raw.get("postalCode")),
        country=country,
    )


def _info_number(track_results: Sequence[Mapping[str, Any]]) -> str | None:
    for track_result in track_results:
        info = track_result.get("trackingNumberInfo")
        if isinstance(info, dict) and (number := _text(info.get("trackingNumber"))):
            return number
    return None


def _text(value: Any) -> str | None:
    """A non-blank string, stripped; FedEx sends "" for absent values."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _error_summary(errors: Any) -> str:
    if not isinstance(errors, list):
        return ""
    parts = [
        ": ".join(p for p in (_text(e.get("code")), _text(e.get("message"))) if p)
        for e in errors
        if isinstance(e, dict)
    ]
    return "; ".join(p for p in parts if p)[:500]


def _malformed(reason: str, body: Any) -> CarrierMalformedResponse:
    try:
        raw = json.dumps(body)[:4096]
    except (TypeError, ValueError):
        raw = repr(body)[:4096]
    return CarrierMalformedResponse(CARRIER, f"unexpected FedEx track response: {reason}", raw)
