"""Notices we start ourselves never arrive at night: not from 21:00 to 08:00, customer's time.

The customer's time is the main time zone of the parcel's destination country
(``app.core.calendars.country_zone``: the zone most of a country's people live in, e.g.
America/New_York for the US, Australia/Sydney for Australia), the same zone a message's dates
are written in. A locale names a country, never a zone within one, so the locale's region
(``en-AU`` → AU) is used only when the destination country is unknown; with neither, UTC.
Babel's list of a territory's zones is alphabetical (America/Adak first for the US), so it is
no help in choosing.

A notice due inside the quiet hours is held until the next 08:00 local time, which exists
and is unique on every day (clocks change at night). Pure: ``now`` is passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.calendars import country_zone

QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)


def customer_zone(destination_country: str | None, customer_locale: str | None) -> ZoneInfo:
    """The destination country's main zone; else the locale's region's; else UTC."""
    if destination_country:
        return country_zone(destination_country)
    region = _locale_region(customer_locale)
    return country_zone(region) if region else ZoneInfo("UTC")


def _locale_region(locale: str | None) -> str | None:
    """``en-AU`` / ``pt_BR`` → ``AU`` / ``BR``; a bare language (``de``) names no region."""
    parts = (locale or "").replace("_", "-").split("-")
    region = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    return region.upper() if region else None


def held_until(now: datetime, zone: ZoneInfo) -> datetime | None:
    """When a notice written at ``now`` may go out (UTC), or None: at once.

    21:00 sharp is already quiet; 08:00 sharp is not any more.
    """
    local = now.astimezone(zone)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=zone).astimezone(UTC)
