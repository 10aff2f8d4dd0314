"""When a parcel should arrive: the pure maths, no database and no clock (pass ``now``).

Three bases, best first (``docs/operations.md``, Estimated delivery):

``carrier``  the carrier's own window from its answer (``adapters/estimates.py``), as it is;
``history``  this tenant's latest deliveries on the same carrier and lane (origin country ->
             destination country): the 20th to 80th percentile of their transit times, in
             business days of the destination country; at least ``MIN_DELIVERIES`` of them;
``default``  ``DEFAULT_BUSINESS_DAYS`` for the carrier's network (express or postal).

A ``history`` or ``default`` window counts from the parcel's ``shipped_at``, else from when it
was registered: "now" at registration, and fixed after that, so re-estimating on each new
scan does not slide the window along with the clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal

from adapters.base import DeliveryWindow, Network
from app.core.calendars import (
    DAY,
    add_business_days,
    business_days_between,
    country_zone,
    is_working_day,
)

Basis = Literal["carrier", "history", "default"]

MIN_DELIVERIES = 20
LOW_PERCENTILE, HIGH_PERCENTILE = 20.0, 80.0
# business days from shipping; the reasons are in docs/operations.md
DEFAULT_BUSINESS_DAYS: dict[Network, tuple[float, float]] = {
    "express": (3.0, 7.0),
    "postal": (10.0, 25.0),
}
_LAST_INSTANT = timedelta(microseconds=1)
_COUNT_AT_MOST = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Estimate:
    """Delivery expected from ``earliest`` to ``latest`` (local days, both included)."""

    earliest: date
    latest: date
    basis: Basis

    def same_window(self, other: Estimate | None) -> bool:
        return other is not None and (self.earliest, self.latest) == (other.earliest, other.latest)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), interpolating between neighbours (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def transit_business_days(start: datetime, delivered_at: datetime, country: str | None) -> float:
    """Working-day time from shipping to the delivery scan in the destination country."""
    return business_days_between(start, delivered_at, country)


def history_span(transits: Sequence[float]) -> tuple[float, float] | None:
    """The lane's p20-p80 transit in business days; None below ``MIN_DELIVERIES``."""
    if len(transits) < MIN_DELIVERIES:
        return None
    return percentile(transits, LOW_PERCENTILE), percentile(transits, HIGH_PERCENTILE)


def day_after_business_days(start: datetime, days: float, country: str | None) -> date:
    """The local day on which ``days`` business days from ``start`` run out.

    Days that run out at midnight ran out on the day before it (3 business days from Monday
    00:00 are over when Wednesday ends, not "on Thursday"); never before ``start``'s own day.
    """
    zone = country_zone(country)
    first = start.astimezone(zone).date()
    end = add_business_days(start, days, country)
    return max(first, (end - _LAST_INSTANT).astimezone(zone).date()) if days > 0 else first


def window_after(
    start: datetime, span: tuple[float, float], basis: Basis, country: str | None
) -> Estimate:
    low, high = sorted(span)
    return Estimate(
        earliest=day_after_business_days(start, low, country),
        latest=day_after_business_days(start, high, country),
        basis=basis,
    )


def choose(
    *,
    carrier_window: DeliveryWindow | None,
    transits: Sequence[float],
    network: Network,
    start: datetime,
    country: str | None,
) -> Estimate:
    """The best estimate there is: the carrier's, else the lane's history, else the default."""
    if carrier_window is not None:
        return Estimate(carrier_window.earliest, carrier_window.latest, "carrier")
    span = history_span(transits)
    if span is not None:
        return window_after(start, span, "history", country)
    return window_after(start, DEFAULT_BUSINESS_DAYS[network], "default", country)


@lru_cache(maxsize=4096)
def business_days_until(today: date, day: date, country: str | None) -> int:
    """Working days after ``today`` up to and including ``day`` in ``country`` (0 if past;
    counted over a year at most, whatever date a carrier wrote). Cached: a bulk notice asks
    it for thousands of parcels whose windows are a handful of days."""
    count, current, last = 0, today + DAY, min(day, today + _COUNT_AT_MOST)
    while current <= last:
        count += is_working_day(country, current)
        current += DAY
    return count


def delay_business_days(today: date, estimate: Estimate, country: str | None) -> tuple[int, int]:
    """How many more business days to the window's first and last day: at least 1 each,
    for "a possible delay of 3-5 business days"."""
    return (
        max(1, business_days_until(today, estimate.earliest, country)),
        max(1, business_days_until(today, estimate.latest, country)),
    )
