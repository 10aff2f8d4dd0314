"""Notices are held from 21:00 to 08:00 in the customer's time zone: a table of cases."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.notify.quiet_hours import customer_zone, held_until

BERLIN, NEW_YORK, SYDNEY = (
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Sydney"),
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "now", "zone", "expected"),
    [
        ("Berlin mid-morning: at once", utc(2026, 3, 12, 9, 30), BERLIN, None),
        ("Berlin 20:59:59: still at once", utc(2026, 3, 12, 19, 59, 59), BERLIN, None),
        ("Berlin 21:00 sharp: held", utc(2026, 3, 12, 20, 0), BERLIN, utc(2026, 3, 13, 7, 0)),
        ("Berlin 07:59: held to 08:00", utc(2026, 3, 13, 6, 59), BERLIN, utc(2026, 3, 13, 7, 0)),
        ("Berlin 08:00 sharp: at once", utc(2026, 3, 13, 7, 0), BERLIN, None),
        # 29 March 2026: clocks go forward 02:00 -> 03:00; 08:00 is CEST (UTC+2) that day
        ("Berlin 23:00 before spring", utc(2026, 3, 28, 22, 0), BERLIN, utc(2026, 3, 29, 6, 0)),
        ("Berlin 01:30 on spring day", utc(2026, 3, 29, 0, 30), BERLIN, utc(2026, 3, 29, 6, 0)),
        # 25 October 2026: clocks go back 03:00 -> 02:00; 08:00 is CET (UTC+1) that day
        ("Berlin 22:00 before autumn", utc(2026, 10, 24, 20, 0), BERLIN, utc(2026, 10, 25, 7, 0)),
        # New York is on EDT (UTC-4) from 8 March 2026
        ("US parcel, 23:00 EDT", utc(2026, 3, 13, 3, 0), NEW_YORK, utc(2026, 3, 13, 12, 0)),
        ("US parcel, 05:30 EDT", utc(2026, 3, 12, 9, 30), NEW_YORK, utc(2026, 3, 12, 12, 0)),
        ("US parcel, 14:00 EDT", utc(2026, 3, 12, 18, 0), NEW_YORK, None),
        # Sydney is on AEDT (UTC+11) until 5 April 2026, then AEST (UTC+10)
        ("AU parcel, 20:30 AEDT", utc(2026, 3, 12, 9, 30), SYDNEY, None),
        ("AU parcel, 21:00 AEDT", utc(2026, 3, 12, 10, 0), SYDNEY, utc(2026, 3, 12, 21, 0)),
        ("AU 22:00 before autumn", utc(2026, 4, 4, 11, 0), SYDNEY, utc(2026, 4, 4, 22, 0)),
    ],
)
def test_a_notice_due_at_night_is_held_until_eight_in_the_morning(
    case: str, now: datetime, zone: ZoneInfo, expected: datetime | None
) -> None:
    assert held_until(now, zone) == expected, case


@pytest.mark.parametrize(
    ("country", "locale", "zone"),
    [
        ("DE", "de-DE", "Europe/Berlin"),
        ("US", "en-US", "America/New_York"),  # the most populous of its zones
        ("AU", "en-AU", "Australia/Sydney"),
        ("AU", "de-DE", "Australia/Sydney"),  # where the parcel goes, not the language
        (None, "en-AU", "Australia/Sydney"),  # no destination: the locale's region
        (None, "pt_BR", "America/Sao_Paulo"),
        (None, "de", "UTC"),  # a bare language names no place
        (None, None, "UTC"),
    ],
)
def test_the_customers_zone_is_their_destination_countrys(
    country: str | None, locale: str | None, zone: str
) -> None:
    assert customer_zone(country, locale) == ZoneInfo(zone)
