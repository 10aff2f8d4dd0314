"""The carriers' own delivery estimates -> ``DeliveryWindow``: pure, no I/O, no clock.

One reader per answer shape; the facts and their sources are in ``docs/carriers.md`` §10.

===========  ===============================================================================
FedEx        a track result's ``estimatedDeliveryTimeWindow.window {begins, ends}``, else its
             ``dateAndTimes`` entry of type ``ESTIMATED_DELIVERY``, else the service's
             ``standardTransitTimeWindow.window`` (FedEx Ground answers often carry only that)
UPS          a package's ``deliveryDate`` of type ``RDD`` (rescheduled), else ``SDD``
             (scheduled), ``YYYYMMDD``; ``DEL`` is the delivery itself, not an estimate, and
             ``deliveryTime`` only says at what hours of that day
DHL          a shipment's ``estimatedDeliveryTimeFrame {estimatedFrom, estimatedThrough}``,
             else ``estimatedTimeOfDelivery``
17TRACK      ``track_info.time_metrics.estimated_delivery_date {source, from, to}``; ``source``
             says whose it is (``Official``: the carrier's; ``17TRACK``: 17TRACK's own)
===========  ===============================================================================

Days are read as written: the calendar date of the timestamp in the carrier's own offset,
never converted to UTC (FedEx's ``2023-05-15T23:59:59-05:00`` is the 15th, not the 16th). A
window given back to front is turned round, half a window (only one end) is one day, and an
empty or unreadable one is no estimate: never an error, because the scans still count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.base import DeliveryWindow

_ISO_DAY = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")
_COMPACT_DAY = re.compile(r"\s*(\d{4})(\d{2})(\d{2})\s*")
# a carrier's placeholder (0001-01-01, 9999-12-31) is no estimate
_PLAUSIBLE_YEARS = range(2000, 2200)


def day_of(value: Any) -> date | None:
    """The calendar day an ISO date/date-time (or UPS ``YYYYMMDD``) names, as written."""
    if not isinstance(value, str):
        return None
    match = _COMPACT_DAY.fullmatch(value) or _ISO_DAY.match(value)
    if match is None:
        return None
    try:
        day = date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return day if day.year in _PLAUSIBLE_YEARS else None


def window_of(first: Any, last: Any, source: str) -> DeliveryWindow | None:
    """A window from its two ends as the carrier wrote them; either end may be missing."""
    days = sorted(day for day in (day_of(first), day_of(last)) if day is not None)
    if not days:
        return None
    return DeliveryWindow(earliest=days[0], latest=days[-1], source=source)


def fedex_window(track_result: Mapping[str, Any]) -> DeliveryWindow | None:
    """FedEx: the live estimate window, else the estimated day, else the standard transit."""
    estimated = _dict(_dict(track_result.get("estimatedDeliveryTimeWindow")).get("window"))
    found = window_of(estimated.get("begins"), estimated.get("ends"), "estimatedDeliveryTimeWindow")
    if found is not None:
        return found
    for entry in _list(track_result.get("dateAndTimes")):
        entry = _dict(entry)
        if str(entry.get("type", "")).strip().upper() == "ESTIMATED_DELIVERY":
            found = window_of(entry.get("dateTime"), None, "dateAndTimes ESTIMATED_DELIVERY")
            if found is not None:
                return found
    standard = _dict(_dict(track_result.get("standardTransitTimeWindow")).get("window"))
    return window_of(standard.get("begins"), standard.get("ends"), "standardTransitTimeWindow")


_UPS_PREFERENCE = ("RDD", "SDD")  # a rescheduled date replaces the scheduled one


def ups_window(package: Mapping[str, Any]) -> DeliveryWindow | None:
    """UPS: the rescheduled delivery date, else the scheduled one (one day)."""
    dates = {
        str(entry.get("type", "")).strip().upper(): entry.get("date")
        for entry in map(_dict, _list(package.get("deliveryDate")))
    }
    for kind in _UPS_PREFERENCE:
        found = window_of(dates.get(kind), None, f"deliveryDate {kind}")
        if found is not None:
            return found
    return None


def dhl_window(shipment: Mapping[str, Any]) -> DeliveryWindow | None:
    """DHL: the estimated time frame, else the estimated time of delivery (one day)."""
    frame = _dict(shipment.get("estimatedDeliveryTimeFrame"))
    found = window_of(
        frame.get("estimatedFrom"), frame.get("estimatedThrough"), "estimatedDeliveryTimeFrame"
    )
    if found is not None:
        return found
    return window_of(shipment.get("estimatedTimeOfDelivery"), None, "estimatedTimeOfDelivery")


def track17_window(track_info: Mapping[str, Any]) -> DeliveryWindow | None:
    """17TRACK: ``time_metrics.estimated_delivery_date``; the source is kept in ``source``."""
    estimate = _dict(_dict(track_info.get("time_metrics")).get("estimated_delivery_date"))
    whose = estimate.get("source")
    source = "estimated_delivery_date" + (f" ({whose})" if isinstance(whose, str) else "")
    return window_of(estimate.get("from"), estimate.get("to"), source)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
