"""Pure parsing of DHL Shipment Tracking - Unified responses into normalised scans.

No I/O and no clock (the time-zone tables are read once, on first use): ``parse_tracking`` turns
the decoded body of one ``GET /track/shipments`` answer into one ``TrackingResult`` per queried
number (facts: ``docs/carriers.md`` §1).

How a DHL event becomes a ``ScanStatus`` (``status_for``, the one entry point):

1. ``statusCode`` (five values, ``STATUS_TABLE``) gives the base status. DHL's codes are coarse
   (``transit`` covers pickup, customs and the courier's van), so the event text may refine it
   within the set ``REFINEMENTS`` allows for that code (``transit`` + "Shipment picked up" ->
   ``accepted``; ``failure`` + customs text -> ``customs_hold``). A code we do not know is
   counted with ``record_unmapped`` and becomes ``unknown``, whatever its text says.
2. Several divisions (DHL Express above all) send events with **no** ``statusCode``, only a
   ``description``. Those are classified by ``PHRASES``, an ordered table of phrases (first
   match wins, so specific phrases stand before general ones). An unknown phrase is counted
   with ``record_unmapped(carrier, "(no statusCode)", text)`` and becomes ``unknown``.
3. ``returnFlag: true`` marks a return shipment: its ``delivered`` means delivered back to
   the sender, so it becomes ``returned_to_sender``.

Timestamps, flagged because DHL documents ``date-time`` but often sends no offset
(``2021-05-21T14:48:00``; docs/carriers.md §1.2 and §8): a time with an offset or ``Z`` keeps
it. A time without one is local time at the event, placed by ``adapters.zones.place`` from
the event's address (state, town, country), else from the shipment's destination (DHL's
``destination.address``, its country taken from the query when DHL names none), else read as
UTC; each scan counts how with ``record_time_zone``. The original string stays in
``raw_timestamp``.

Locations: DHL Express sends only ``addressLocality`` such as ``"LEIPZIG - GERMANY"`` or
``"CINCINNATI HUB, OH - USA"`` (and parcel divisions sometimes just ``"Germany"``), so a
trailing country name is turned into its ISO code (pycountry plus a few DHL spellings) when
``countryCode`` is absent, and a trailing ``", OH"`` that is a state or province of that
country (``adapters.zones.admin1_for``) becomes the region.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pycountry

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
from adapters.estimates import dhl_window
from adapters.zones import Placed, admin1_for, place

CARRIER = "dhl"
TEXT_ONLY = "(no statusCode)"  # the record_unmapped key for events DHL sent without a code
logger = logging.getLogger("adapters.dhl")
S = ScanStatus

# DHL ``statusCode`` (OpenAPI 1.5.6 enum; DHL support article 47001197243; docs/carriers.md
# §1.4).
STATUS_TABLE: dict[str, ScanStatus] = {
    "pre-transit": S.INFO_RECEIVED,  # shipment data received, parcel not yet handed over
    "transit": S.IN_TRANSIT,  # accepted or picked up by DHL and on its way
    "delivered": S.DELIVERED,  # delivered (back to the sender when returnFlag is true)
    "failure": S.EXCEPTION,  # not deliverable (address, moved) or an unforeseen event
    "unknown": S.UNKNOWN,  # DHL has no simplified code for this event; the text may say
}

# What the event text may turn each code into; DHL's coarse code stays when no phrase fits.
_MOVING = frozenset(ScanStatus) - {S.INFO_RECEIVED, S.DELIVERED, S.CANCELLED, S.UNKNOWN}
REFINEMENTS: dict[str, frozenset[ScanStatus]] = {
    "pre-transit": frozenset(),
    "transit": _MOVING,
    "delivered": frozenset({S.RETURNED_TO_SENDER}),
    "failure": frozenset(
        {S.CUSTOMS_HOLD, S.FAILED_ATTEMPT, S.AVAILABLE_FOR_PICKUP, S.RETURNED_TO_SENDER}
    ),
    "unknown": frozenset(ScanStatus) - {S.UNKNOWN},
}


@dataclass(frozen=True, slots=True)
class Phrase:
    """A phrase of DHL's English event text (whole words, any case) and what it means."""

    text: str
    status: ScanStatus
    delay: bool = False


# Ordered groups: the first phrase found in the text wins, so specific phrases stand before
# general ones ("could not be delivered" before "delivered"). Texts follow DHL Express and
# Parcel DE wording seen in public samples (docs/carriers.md §1.2, §1.4) and DHL's status
# definitions.
# fmt: off
_PHRASE_GROUPS: tuple[tuple[ScanStatus, bool, str], ...] = (
    (S.RETURNED_TO_SENDER, False, "returned to shipper|returned to the sender|returned to sender|"
     "return to sender|returning to shipper|being returned|delivered back to the sender"),
    (S.INFO_RECEIVED, False, "not yet been handed over|shipment information received|"
     "provided by the sender to DHL electronically"),
    (S.DELIVERED, False, "picked up by the recipient|collected by the recipient"),
    (S.AVAILABLE_FOR_PICKUP, False, "ready for pick-up|ready for pickup|ready for collection|"
     "available for pick-up|awaiting collection"),
    (S.FAILED_ATTEMPT, False, "delivery attempted|attempted delivery|could not be delivered|"
     "recipient not available|recipient was not available|consignee not available|"
     "business closed"),
    (S.IN_TRANSIT, False, "clearance processing complete|customs clearance completed|"
     "released by customs|import customs cleared"),
    (S.CUSTOMS_HOLD, True, "clearance delay"),
    (S.CUSTOMS_HOLD, False, "customs|clearance"),
    (S.EXCEPTION, False, "refused|damaged|address information needed|incorrect address|"
     "address is incorrect|please contact DHL|on hold|cannot be located|lost"),
    (S.IN_TRANSIT, True, "delayed|delay"),
    (S.OUT_FOR_DELIVERY, False, "out with courier for delivery|out for delivery|"
     "with delivery courier|loaded onto the delivery vehicle"),
    (S.IN_TRANSIT, False, "will be delivered|to be delivered"),
    (S.DELIVERED, False, "delivered"),
    (S.ACCEPTED, False, "picked up|has been posted|shipment accepted"),
    (S.IN_TRANSIT, False, "processed at|processed in|arrived in|transported|departed|"
     "arrived at|in transit|transferred through|sort facility|sorted|forwarded"),
)
# fmt: on
PHRASES: tuple[Phrase, ...] = tuple(
    Phrase(text, status, delay)
    for status, delay, texts in _PHRASE_GROUPS
    for text in texts.split("|")
)
_PHRASE_PATTERNS = tuple(
    (p.text.lower(), re.compile(rf"\b{re.escape(p.text)}\b", re.IGNORECASE), p) for p in PHRASES
)
_REASON_STATUSES = frozenset({S.EXCEPTION, S.FAILED_ATTEMPT, S.CUSTOMS_HOLD})

# DHL Express country names that pycountry does not know by that spelling [?: not confirmed
# from a DHL list; harmless when DHL spells them otherwise].
# fmt: off
_COUNTRY_ALIASES = {
    "CHINA MAINLAND": "CN", "HONG KONG SAR, CHINA": "HK", "MACAU SAR, CHINA": "MO",
    "TAIWAN, CHINA": "TW", "KOREA, REPUBLIC OF (SOUTH K.)": "KR", "KOREA, SOUTH": "KR",
    "TURKEY": "TR", "RUSSIA": "RU", "UK": "GB",
}
# fmt: on
_SPACES = re.compile(r"\s+")
_ALPHA2 = re.compile(r"[A-Z]{2}")
_ALPHA3_TO_2 = {str(c.alpha_3): str(c.alpha_2) for c in pycountry.countries}


def parse_tracking(
    body: Any, numbers: Sequence[str], *, destination_country: str | None = None
) -> list[TrackingResult]:
    """One result per number, in order, from one decoded DHL body (200 or problem body).

    A 404 problem body means "not found"; another 4xx problem body is a per-number error.
    Only a body of neither shape raises ``CarrierMalformedResponse``. ``destination_country``
    (the query's) places offset-less times when DHL's answer names no destination country.
    """
    if not isinstance(body, dict):
        raise CarrierMalformedResponse(CARRIER, "body is not a JSON object", repr(body))
    if "shipments" not in body:
        return _problem_results(body, numbers)
    shipments = body["shipments"]
    if not isinstance(shipments, list):
        raise CarrierMalformedResponse(CARRIER, "shipments is not a list", repr(body))
    candidates = [s for s in shipments if isinstance(s, dict)]
    results = []
    for number in numbers:
        shipment = _shipment_for(number, candidates, single=len(numbers) == 1)
        if shipment is None:
            results.append(TrackingResult.not_found(number))
        else:
            results.append(_shipment_result(number, shipment, destination_country))
    return results


def status_for(
    code: str | None, text: str, *, return_flag: bool = False
) -> tuple[ScanStatus, bool]:
    """(status, carrier_delay) for one event's ``statusCode`` and text; see module docstring."""
    phrase = match_phrase(text)
    delay = phrase is not None and phrase.delay
    if code is None:
        if phrase is None:
            return record_unmapped(CARRIER, TEXT_ONLY, text), False
        status = phrase.status
    elif code not in STATUS_TABLE:
        return record_unmapped(CARRIER, code, text), delay
    elif phrase is not None and phrase.status in REFINEMENTS[code]:
        status = phrase.status
    elif STATUS_TABLE[code] is S.UNKNOWN:
        return record_unmapped(CARRIER, code, text), delay
    else:
        status = STATUS_TABLE[code]
    if return_flag and status is S.DELIVERED:
        status = S.RETURNED_TO_SENDER
    return status, delay


def match_phrase(text: str) -> Phrase | None:
    """The first ``PHRASES`` entry found in ``text`` as whole words, or None."""
    lowered = text.lower()
    for needle, pattern, phrase in _PHRASE_PATTERNS:
        # the substring test is cheap and rules out almost every phrase before the regex
        if needle in lowered and pattern.search(text):
            return phrase
    return None


def place_in_time(
    raw: str, where: Location, *, destination: Location | None = None
) -> Placed | None:
    """``raw`` in UTC and how it was placed (module docstring), or None if unreadable."""
    try:
        return place(datetime.fromisoformat(raw.strip()), where, destination=destination)
    except (ValueError, OverflowError):
        return None


@functools.lru_cache(maxsize=1024)
def country_code(name: str) -> str | None:
    """ISO alpha-2 for a country name or code as DHL writes it, or None."""
    key = _SPACES.sub(" ", name).strip().upper()
    if key.endswith(", THE"):
        key = key[: -len(", THE")]
    if not key:
        return None
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        return str(pycountry.countries.lookup(key).alpha_2)
    except LookupError:
        return None


def location_of(place: Any) -> Location:
    """A ``Location`` from DHL's ``{address: {...}}``; the country code comes from the text
    ("LEIPZIG - GERMANY") when ``countryCode`` is absent, and the region from a trailing
    state or province of that country ("CINCINNATI HUB, OH - USA")."""
    address = _dict(_dict(place).get("address"))
    locality = _text(address.get("addressLocality"))
    code = (_text(address.get("countryCode")) or "").strip().upper()
    country = code if _ALPHA2.fullmatch(code) else _ALPHA3_TO_2.get(code)
    city, region = locality, _text(address.get("addressRegion"))
    if locality:
        parts = [p.strip() for p in locality.split(" - ") if p.strip()]
        if len(parts) == 1 and country_code(parts[0]):
            city, country = None, country or country_code(parts[0])
        elif len(parts) > 1 and country_code(parts[-1]):
            city, country = " - ".join(parts[:-1]), country or country_code(parts[-1])
        head, comma, tail = (city or "").rpartition(",")
        if comma and head.strip() and region is None and admin1_for(country, tail):
            city, region = head.strip(), tail.strip()
    return Location(
        city=city, region=region, postal_code=_text(address.get("postalCode")), country=country
    )


def _problem_results(body: Mapping[str, Any], numbers: Sequence[str]) -> list[TrackingResult]:
    """DHL's RFC 7807 problem body: 404 is "not found", other 4xx a per-number error."""
    status = body.get("status")
    if isinstance(status, bool) or not isinstance(status, int):
        raise CarrierMalformedResponse(CARRIER, "neither shipments nor a problem", repr(body))
    if status == 404:
        return [TrackingResult.not_found(n) for n in numbers]
    if 400 <= status < 500:
        detail = _text(body.get("detail")) or _text(body.get("title")) or "request refused"
        return [TrackingResult.failed(n, f"DHL HTTP {status}: {detail}") for n in numbers]
    raise CarrierMalformedResponse(CARRIER, f"problem body with status {status}", repr(body))


def _shipment_for(
    number: str, shipments: Sequence[dict[str, Any]], *, single: bool
) -> dict[str, Any] | None:
    """The shipment DHL answered for ``number``: by id, then by piece id; a one-number call
    whose answer names another id (DHL resolved a piece or reference) takes the first."""
    wanted = normalise_number(number)
    for shipment in shipments:
        if normalise_number(str(shipment.get("id", ""))) == wanted:
            return shipment
    for shipment in shipments:
        pieces = _list(_dict(shipment.get("details")).get("pieceIds"))
        if any(isinstance(p, str) and normalise_number(p) == wanted for p in pieces):
            return shipment
    return shipments[0] if single and shipments else None


def _shipment_result(
    number: str, shipment: Mapping[str, Any], destination_country: str | None
) -> TrackingResult:
    events = shipment.get("events")
    if events is None or events == []:
        status = shipment.get("status")
        events = [status] if isinstance(status, dict) else []
    if not isinstance(events, list):
        return TrackingResult.failed(number, "DHL events is not a list")
    destination = location_of(shipment.get("destination"))
    wanted = (destination_country or "").strip().upper()
    if destination.country is None and _ALPHA2.fullmatch(wanted):
        destination = replace(destination, country=wanted)
    return_flag = shipment.get("returnFlag") is True
    scans = []
    # DHL lists events newest first; oldest first keeps equal times in their real order.
    for event in reversed(events):
        scan = _scan(event, destination=destination, return_flag=return_flag)
        if scan is not None:
            scans.append(scan)
    if events and not scans:
        return TrackingResult.failed(number, "no DHL event had a readable timestamp")
    if len(scans) < len(events):
        logger.warning(
            "skipped unreadable DHL events",
            extra={"carrier": CARRIER, "skipped": len(events) - len(scans)},
        )
    return TrackingResult.found(number, scans, estimate=dhl_window(shipment))


def _scan(event: Any, *, destination: Location, return_flag: bool) -> Scan | None:
    if not isinstance(event, dict):
        return None
    raw_timestamp = _text(event.get("timestamp"))
    location = location_of(event.get("location"))
    placed = (
        place_in_time(raw_timestamp, location, destination=destination) if raw_timestamp else None
    )
    if placed is None:
        return None
    record_time_zone(CARRIER, placed.how)
    raw_text = next(
        (t for k in ("description", "status", "statusDetailed") if (t := _text(event.get(k)))),
        None,
    )
    text = _SPACES.sub(" ", raw_text or "").strip()
    code = _text(event.get("statusCode"))
    status, delay = status_for(code, text, return_flag=return_flag)
    reason = None
    if status in _REASON_STATUSES or delay:
        reason = _text(event.get("remark")) or text or None
    return Scan(
        status=status,
        occurred_at=placed.at,
        description=text,
        location=location,
        raw_code=code,
        raw_text=raw_text,
        raw_timestamp=raw_timestamp,
        carrier_delay=delay,
        exception_reason=reason,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """A non-empty string as sent, else None (DHL omits, nulls or empties optional fields)."""
    return value if isinstance(value, str) and value.strip() else None
