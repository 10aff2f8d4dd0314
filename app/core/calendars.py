"""Business time in the country where a parcel is: weekends and public holidays excluded.

A day counts when the ``holidays`` package says it is a working day in that country, which
also knows China's make-up working Saturdays around Spring Festival and Golden Week. Days are
cut at local midnight of the country's main time zone. Countries ``holidays`` does not know
count Monday to Friday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import holidays

DAY = timedelta(days=1)

# zone.tab lists a country's zones in no particular order; for countries spanning several
# zones, the one most of their people (and sorting centres) live in.
_MAIN_ZONE = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "ES": "Europe/Madrid",
    "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty",
    "MX": "America/Mexico_City",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "US": "America/New_York",
}


@lru_cache(maxsize=1)
def _zone_table() -> dict[str, str]:
    text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text()
    zones: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone, *_ = line.split("\t")
            zones.setdefault(country, zone)
    return zones | _MAIN_ZONE


@lru_cache(maxsize=512)
def country_zone(country: str | None) -> ZoneInfo:
    name = _zone_table().get((country or "").upper())
    return ZoneInfo(name) if name else ZoneInfo("UTC")


@lru_cache(maxsize=2048)
def _calendar(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return None


@lru_cache(maxsize=65536)
def is_working_day(country: str | None, day: date) -> bool:
    """Cached: detection asks the same few countries about the same few weeks all day."""
    calendar = _calendar(country.upper(), day.year) if country else None
    if calendar is None:
        return day.weekday() < 5
    return bool(calendar.is_working_day(day))


@lru_cache(maxsize=65536)
def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=8192)
def business_days_between(start: datetime, end: datetime, country: str | None) -> float:
    """Working-day time from ``start`` to ``end`` in ``country``, in days (fractional).

    Cached: a detection tick or an import judges thousands of parcels against one ``now``,
    most of them last scanned at a few shared moments (a carrier's depot scan for a whole
    shipment); the answer depends on the instants alone."""
    if end <= start:
        return 0.0
    zone = country_zone(country)
    total = 0.0
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if is_working_day(country, day):
            lo = max(start, _day_start(day, zone))
            hi = min(end, _day_start(day + DAY, zone))
            if hi > lo:
                length = _day_start(day + DAY, zone) - _day_start(day, zone)  # 23/25 h on DST days
                total += (hi - lo) / length
        day += DAY
    return total


def add_business_days(start: datetime, days: float, country: str | None) -> datetime:
    """The instant when ``days`` of working-day time have passed since ``start``.

    Cached like ``business_days_between``; the key holds ``start``'s zone (and fold) as well
    as its instant, because the answer may be ``start`` itself, in ``start``'s own zone."""
    return _add_business_days(start, start.tzinfo, start.fold, days, country)


@lru_cache(maxsize=8192)
def _add_business_days(
    start: datetime, _zone: tzinfo | None, _fold: int, days: float, country: str | None
) -> datetime:
    zone = country_zone(country)
    remaining = days
    day = start.astimezone(zone).date()
    for _ in range(3660):  # ten years of calendar is a hard stop, never reached in practice
        day_start, day_end = _day_start(day, zone), _day_start(day + DAY, zone)
        if is_working_day(country, day):
            lo = max(start, day_start)
            available = (day_end - lo) / (day_end - day_start)
            if available >= remaining:
                return lo + (day_end - day_start) * remaining
            remaining -= available
        day += DAY
    raise ValueError(f"{days} business days from {start} is beyond ten years")
