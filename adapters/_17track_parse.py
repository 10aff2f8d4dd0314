"""Pure parsing of 17TRACK v2.2 ``gettrackinfo`` answers, and the status tables (no I/O).

EMS and China Post have no public self-service tracking API, so both adapters read the
17TRACK aggregator (``docs/carriers.md`` §5.1, §5.4). A ``gettrackinfo`` answer is HTTP 200
with ``{code, data: {accepted: [...], rejected: [{number, error: {code, message}}]}}``; each
accepted number carries ``track_info.tracking.providers[].events[]`` (origin post, then
destination post, each newest first) with ``time_iso`` (local offset), ``time_utc``,
``description``, ``location``, ``address``, ``stage`` (a milestone name) and ``sub_status``.

An event's status (``status_for``, the one entry point) comes from its 17TRACK
``sub_status`` (``STATUS_TABLE``, the 30 sub-statuses; else ``MAIN_STATUSES``), else its
``stage`` (``STAGES``); when the event text carries a UPU EMSEVT code (``[EMC] Departure from
outward office of exchange``, ``UPU_EVENTS``) that code wins where it says more than the
aggregator's guess. Unknown codes become ``unknown`` and are counted with ``record_unmapped``.
Whole-call problems (bad key, quota) are raised by ``adapters._17track.check_envelope``;
``parse_tracking`` only raises ``CarrierMalformedResponse``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
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
from adapters.estimates import track17_window

S = ScanStatus

# Per-number 17TRACK error codes (v2 error-code table, transcribed by public clients;
# docs/carriers.md §5.5).
NOT_REGISTERED = -18019902  # "not registered yet, please register first"
NO_TRACKING_INFO = -18019909  # "no tracking info at the moment"


@dataclass(frozen=True, slots=True)
class Rule:
    """What one raw code means for us: status, plus a delay flag or an exception reason."""

    status: ScanStatus
    reason: str | None = None
    delay: bool = False


# The nine main statuses (help.17track.net; docs/carriers.md §5.3): an event's ``sub_status``
# or ``stage`` may be one of these.
MAIN_STATUSES: dict[str, Rule] = {
    "NotFound": Rule(S.UNKNOWN),  # no data at the carrier yet: a lookup result, not a scan
    "InfoReceived": Rule(S.INFO_RECEIVED),  # carrier has the order data, no physical scan
    "InTransit": Rule(S.IN_TRANSIT),  # moving through the network
    "Expired": Rule(S.UNKNOWN),  # no update for too long; says nothing about where it is
    "AvailableForPickup": Rule(S.AVAILABLE_FOR_PICKUP),  # waiting at a post office / locker
    "OutForDelivery": Rule(S.OUT_FOR_DELIVERY),  # with the postman / courier
    "DeliveryFailure": Rule(S.FAILED_ATTEMPT),  # delivery attempted, not completed
    "Delivered": Rule(S.DELIVERED),  # delivered to the recipient
    "Exception": Rule(S.EXCEPTION),  # returned, refused, lost, damaged, customs problem
}

# An event's ``sub_status``: the 30 documented sub-statuses, the primary table
# (help.17track.net; docs/carriers.md §5.3).
STATUS_TABLE: dict[str, Rule] = {
    "NotFound_Other": Rule(S.UNKNOWN),  # carrier returned nothing yet
    "NotFound_InvalidCode": Rule(S.UNKNOWN),  # 17TRACK thinks the number is invalid
    "InfoReceived": Rule(S.INFO_RECEIVED),  # order data received, no further breakdown
    "InTransit_PickedUp": Rule(S.ACCEPTED),  # collected from / posted by the sender
    "InTransit_Other": Rule(S.IN_TRANSIT),  # in transit, no more specific sub-status
    "InTransit_Departure": Rule(S.IN_TRANSIT),  # left the origin country's port
    "InTransit_Arrival": Rule(S.IN_TRANSIT),  # arrived at the destination country's port
    "InTransit_CustomsProcessing": Rule(S.CUSTOMS_HOLD),  # under customs clearance
    "InTransit_CustomsReleased": Rule(S.IN_TRANSIT),  # import/export clearance completed
    "InTransit_CustomsRequiringInformation": Rule(  # customs needs documents or data
        S.CUSTOMS_HOLD, "Customs requires information"
    ),
    "Expired_Other": Rule(S.UNKNOWN),  # no update for too long
    "AvailableForPickup_Other": Rule(S.AVAILABLE_FOR_PICKUP),  # ready for the recipient
    "OutForDelivery_Other": Rule(S.OUT_FOR_DELIVERY),  # out for delivery
    "DeliveryFailure_Other": Rule(S.FAILED_ATTEMPT, "Delivery failed"),  # other reason
    "DeliveryFailure_NoBody": Rule(  # recipient could not be reached at delivery
        S.FAILED_ATTEMPT, "Recipient not available"
    ),
    "DeliveryFailure_Security": Rule(  # security, customs or fee problem at delivery
        S.FAILED_ATTEMPT, "Security, customs or fee issue"
    ),
    "DeliveryFailure_Rejected": Rule(S.FAILED_ATTEMPT, "Refused by recipient"),  # refused
    "DeliveryFailure_InvalidAddress": Rule(S.FAILED_ATTEMPT, "Incorrect address"),  # bad address
    "Delivered_Other": Rule(S.DELIVERED),  # delivered
    "Exception_Other": Rule(S.EXCEPTION, "Carrier exception"),  # other problem
    "Exception_Returning": Rule(S.RETURNED_TO_SENDER, "Returning to sender"),  # on its way back
    "Exception_Returned": Rule(S.RETURNED_TO_SENDER, "Returned to sender"),  # sender has it back
    "Exception_NoBody": Rule(S.EXCEPTION, "Recipient cannot be found"),  # before delivery
    "Exception_Security": Rule(  # security, customs or fee problem before delivery
        S.EXCEPTION, "Security, customs or fee issue"
    ),
    "Exception_Damage": Rule(S.EXCEPTION, "Damaged"),  # found damaged in transport
    "Exception_Rejected": Rule(S.EXCEPTION, "Refused by recipient"),  # refused before delivery
    "Exception_Delayed": Rule(S.IN_TRANSIT, "Delayed", delay=True),  # announced delay: a flag
    "Exception_Lost": Rule(S.EXCEPTION, "Lost"),  # lost in transit
    "Exception_Destroyed": Rule(S.EXCEPTION, "Destroyed"),  # undeliverable and destroyed
    "Exception_Cancel": Rule(S.CANCELLED, "Cancelled"),  # shipment order cancelled
}

# An event's ``stage`` is a milestone ``key_stage`` name (docs/carriers.md §5.3, §5.4).
STAGES: dict[str, Rule] = {
    "InfoReceived": Rule(S.INFO_RECEIVED),  # order data received
    "PickedUp": Rule(S.ACCEPTED),  # collected / posted
    "Departure": Rule(S.IN_TRANSIT),  # left the origin country
    "Arrival": Rule(S.IN_TRANSIT),  # reached the destination country
    "AvailableForPickup": Rule(S.AVAILABLE_FOR_PICKUP),  # waiting for the recipient
    "OutForDelivery": Rule(S.OUT_FOR_DELIVERY),  # out for delivery
    "Delivered": Rule(S.DELIVERED),  # delivered
    "Returning": Rule(S.RETURNED_TO_SENDER, "Returning to sender"),  # on its way back
    "Returned": Rule(S.RETURNED_TO_SENDER, "Returned to sender"),  # back with the sender
}

# UPU EMSEVT item event codes (docs/carriers.md §4.2).
UPU_EVENTS: dict[str, Rule] = {
    "EMA": Rule(S.ACCEPTED),  # posting / collection (acceptance)
    "EMB": Rule(S.IN_TRANSIT),  # arrival at outward office of exchange
    "EMC": Rule(S.IN_TRANSIT),  # departure from outward office of exchange
    "EXA": Rule(S.IN_TRANSIT),  # presented to export customs / security
    "EXB": Rule(S.CUSTOMS_HOLD, "Held by export customs"),  # held by export customs / security
    "EXC": Rule(S.IN_TRANSIT),  # returned from export customs / security (released)
    "EXD": Rule(S.EXCEPTION, "Held at outward office of exchange"),  # held at export office
    "EXX": Rule(S.CANCELLED, "Export cancelled"),  # export cancellation
    "EMJ": Rule(S.IN_TRANSIT),  # arrival at transit office of exchange
    "EMK": Rule(S.IN_TRANSIT),  # departure from transit office of exchange
    "EMD": Rule(S.IN_TRANSIT),  # arrival at inward office of exchange
    "EDA": Rule(S.CUSTOMS_HOLD),  # held at inward office of exchange (judgement call, §4.2)
    "EDB": Rule(S.CUSTOMS_HOLD),  # item presented to import customs
    "EME": Rule(S.CUSTOMS_HOLD, "Held by import customs"),  # held by import customs
    "EDC": Rule(S.IN_TRANSIT),  # returned from import customs (released)
    "EMF": Rule(S.IN_TRANSIT),  # departure from inward office of exchange
    "EDD": Rule(S.IN_TRANSIT),  # item into sorting centre
    "EDE": Rule(S.IN_TRANSIT),  # item out of sorting centre
    "EMG": Rule(S.IN_TRANSIT),  # arrival at delivery office
    "EDF": Rule(S.IN_TRANSIT),  # item held at delivery depot (judgement call, §4.2)
    "EDG": Rule(S.OUT_FOR_DELIVERY),  # item out for physical delivery
    "EDH": Rule(S.AVAILABLE_FOR_PICKUP),  # arrival at collection point for recipient pick-up
    "EMH": Rule(S.FAILED_ATTEMPT, "Unsuccessful delivery"),  # unsuccessful (attempted) delivery
    "EMI": Rule(S.DELIVERED),  # final delivery
    "EDX": Rule(S.EXCEPTION, "Import terminated"),  # import terminated
}

# Statuses a single UPU code cannot know about: the aggregator saw the whole journey.
_JOURNEY_STATUSES = frozenset({S.RETURNED_TO_SENDER, S.CANCELLED})
_GENERIC_STATUSES = frozenset({S.IN_TRANSIT, S.INFO_RECEIVED, S.UNKNOWN})
# "[EMC] ...", "(EDB) ..." anywhere, or a bare code opening the text ("EMI Final delivery").
_UPU_BRACKETED = re.compile(r"[\[(]\s*(E[DMX][A-Z])\s*[\])]")
_UPU_LEADING = re.compile(r"^\s*(E[DMX][A-Z])(?=[\s:\-])")


@dataclass(frozen=True, slots=True)
class CarrierParsing:
    """One 17TRACK carrier's ``parse_tracking`` and ``status_for``: each carrier module exposes
    these two under those names, so unmapped codes are counted under the carrier's code."""

    carrier: str

    def parse_tracking(self, body: Any, numbers: Sequence[str]) -> list[TrackingResult]:
        """Results of one ``gettrackinfo`` answer, one per number, in order."""
        return parse_tracking(body, numbers, carrier=self.carrier)

    def status_for(
        self, sub_status: str | None, stage: str | None, description: str
    ) -> tuple[str | None, Rule]:
        """(raw code, rule) of one event; an unknown code is counted under this carrier."""
        return status_for(sub_status, stage, description, carrier=self.carrier)


def parse_tracking(body: Any, numbers: Sequence[str], *, carrier: str) -> list[TrackingResult]:
    """One ``TrackingResult`` per number, in order, from one ``gettrackinfo`` answer."""
    accepted, rejected = answer_lists(body, carrier)
    by_number: dict[str, TrackingResult] = {}
    for item in accepted:
        number = item_number(item)
        if number and number not in by_number:
            by_number[number] = _accepted_result(number, item, carrier)
    for item in rejected:
        number, code, message = rejection(item)
        if not number or number in by_number:
            continue
        if code in (NOT_REGISTERED, NO_TRACKING_INFO):
            by_number[number] = TrackingResult.not_found(number)
        else:
            by_number[number] = TrackingResult.failed(number, f"17TRACK error {code}: {message}")
    results = []
    for number in numbers:
        result = by_number.get(normalise_number(number))
        if result is None:
            results.append(TrackingResult.failed(number, "17TRACK returned nothing for it"))
        else:
            results.append(replace(result, tracking_number=number))
    return results


def answer_lists(body: Any, carrier: str) -> tuple[list[Any], list[Any]]:
    """``data.accepted`` and ``data.rejected`` of any 17TRACK answer, or a typed error."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise CarrierMalformedResponse(carrier, "17TRACK body has no data object", str(body))
    accepted, rejected = data.get("accepted", []), data.get("rejected", [])
    if not isinstance(accepted, list) or not isinstance(rejected, list):
        raise CarrierMalformedResponse(carrier, "17TRACK accepted/rejected not lists", str(body))
    if "accepted" not in data and "rejected" not in data:
        raise CarrierMalformedResponse(carrier, "17TRACK data has no accepted/rejected", str(body))
    return accepted, rejected


def item_number(item: Any) -> str | None:
    """An answer item's number, normalised as we send it; None when it has none."""
    number = item.get("number") if isinstance(item, dict) else None
    return normalise_number(number) if isinstance(number, str) and number.strip() else None


def rejection(item: Any) -> tuple[str | None, int | None, str]:
    """(number, error code, message) of a ``rejected`` item, each missing part None or ""."""
    error = item.get("error") if isinstance(item, dict) else None
    if not isinstance(error, dict):
        return item_number(item), None, ""
    return item_number(item), code_of(error.get("code")), str(error.get("message") or "")


def code_of(value: Any) -> int | None:
    """17TRACK codes are integers; anything else (text, lists, booleans) is no code."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _accepted_result(number: str, item: Mapping[str, Any], carrier: str) -> TrackingResult:
    info = _dict(item.get("track_info"))
    events: list[Any] = []
    for provider in _list(_dict(info.get("tracking")).get("providers")):
        events.extend(_list(_dict(provider).get("events")))
    if not events and isinstance(info.get("latest_event"), dict):
        events.append(info["latest_event"])
    scans: dict[tuple[datetime, str, Location], Scan] = {}
    for event in events:
        scan = _scan(event, carrier)
        if scan is not None:
            scans.setdefault((scan.occurred_at, scan.description, scan.location), scan)
    if not scans:
        return TrackingResult.not_found(number)
    return TrackingResult.found(number, list(scans.values()), estimate=track17_window(info))


def _scan(event: Any, carrier: str) -> Scan | None:
    if not isinstance(event, dict):
        return None
    occurred_at, raw_time = _event_time(event)
    if occurred_at is None:
        return None
    description = _text(event.get("description")) or ""
    sub_status, stage = _text(event.get("sub_status")), _text(event.get("stage"))
    code, rule = status_for(sub_status, stage, description, carrier=carrier)
    return Scan(
        status=rule.status,
        occurred_at=occurred_at,
        description=description,
        location=_location(event),
        raw_code=code,
        raw_text=description or None,
        raw_timestamp=raw_time,
        carrier_delay=rule.delay,
        exception_reason=rule.reason,
    )


def status_for(
    sub_status: str | None, stage: str | None, description: str, *, carrier: str
) -> tuple[str | None, Rule]:
    """(raw code, rule) of one event: the aggregator's view (sub_status, else stage),
    overruled by a more specific UPU code in the text; an unknown code is counted."""
    code, rule = None, None
    lookups = (
        (sub_status, STATUS_TABLE),
        (sub_status, MAIN_STATUSES),
        (stage, STAGES),
        (stage, MAIN_STATUSES),
    )
    for candidate, table in lookups:
        if candidate is not None and candidate in table:
            code, rule = candidate, table[candidate]
            break
    upu = _upu_code(description)
    if upu is not None and (rule is None or _upu_wins(UPU_EVENTS[upu], rule)):
        merged_reason = UPU_EVENTS[upu].reason or (rule.reason if rule else None)
        return upu, Rule(UPU_EVENTS[upu].status, merged_reason, rule.delay if rule else False)
    if rule is not None:
        return code, rule
    raw = sub_status or stage
    if raw is None:
        return None, Rule(S.UNKNOWN)
    return raw, Rule(record_unmapped(carrier, raw, description))


def _upu_wins(upu: Rule, aggregator: Rule) -> bool:
    if aggregator.status in _JOURNEY_STATUSES:
        return False  # e.g. EMI "final delivery" of an item delivered back to its sender
    return upu.status is not S.IN_TRANSIT or aggregator.status in _GENERIC_STATUSES


def _upu_code(description: str) -> str | None:
    for pattern in (_UPU_BRACKETED, _UPU_LEADING):
        for match in pattern.finditer(description.upper()):
            if match.group(1) in UPU_EVENTS:
                return match.group(1)
    return None


def _event_time(event: Mapping[str, Any]) -> tuple[datetime | None, str | None]:
    """``time_iso`` with its own offset, else ``time_utc``; naive local times are not guessed."""
    for key in ("time_iso", "time_utc"):
        raw = event.get(key)
        if not isinstance(raw, str) or not raw.strip():
            continue
        try:
            parsed = datetime.fromisoformat(raw.strip())
            if parsed.tzinfo is None:
                if key != "time_utc":
                    continue
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC), raw
        except (ValueError, OverflowError):
            continue
    return None, None


def _location(event: Mapping[str, Any]) -> Location:
    address = _dict(event.get("address"))
    city, region = _text(address.get("city")), _text(address.get("state"))
    postal, country = _text(address.get("postal_code")), _country(address.get("country"))
    if city or region or postal or country:
        return Location(city=city, region=region, postal_code=postal, country=country)
    parts = [part.strip() for part in (_text(event.get("location")) or "").split(",")]
    parts = [part for part in parts if part]
    country = _country(parts[-1]) if parts else None
    if country:
        parts.pop()
    return Location(
        city=parts[0] if parts else None,
        region=", ".join(parts[1:]) or None,
        country=country,
    )


def _country(value: Any) -> str | None:
    text = _text(value)
    if text and len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
