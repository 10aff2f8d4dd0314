"""Business-day answers are cached by instant *and* zone: an equal instant written in another
zone gets the answer it would have had uncached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.core import calendars

BERLIN_WINTER = timezone(timedelta(hours=1))


def _uncached(start: datetime, days: float, country: str | None) -> datetime:
    return calendars._add_business_days.__wrapped__(start, start.tzinfo, start.fold, days, country)


def test_the_same_instant_in_two_zones_keeps_each_its_own_zone() -> None:
    in_utc = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)  # a Saturday: the answer is not ``start``
    in_berlin = in_utc.astimezone(BERLIN_WINTER)
    monday_noon = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # a working day: may answer ``start``

    for start in (in_utc, in_berlin, monday_noon, monday_noon.astimezone(BERLIN_WINTER)):
        for days in (0, 0.5, 1, 3):
            got = calendars.add_business_days(start, days, "DE")
            want = _uncached(start, days, "DE")
            assert (got, got.tzinfo) == (want, want.tzinfo), (start, days)


def test_a_cached_answer_is_the_computed_one() -> None:
    start = datetime(2026, 2, 14, 23, 30, tzinfo=UTC)  # around Spring Festival in China
    first = calendars.add_business_days(start, 4, "CN")
    assert calendars.add_business_days(start, 4, "CN") == first == _uncached(start, 4, "CN")
    end = datetime(2026, 2, 26, tzinfo=UTC)
    assert calendars.business_days_between(start, end, "CN") == (
        calendars.business_days_between.__wrapped__(start, end, "CN")
    )
