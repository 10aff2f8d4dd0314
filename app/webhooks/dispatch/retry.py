"""When a failed attempt is tried again: the retry schedule and ``Retry-After``. Pure.

Attempt 1 goes out as soon as the event is committed; attempt n+1 waits ``schedule[n-1]``
after attempt n; a delivery still failing after ``len(schedule) + 1`` attempts is failed. A
``Retry-After`` on 429 or 503 (seconds or an HTTP date, RFC 9110 §10.2.3) is honoured when it
asks for longer than the schedule, up to ``RETRY_AFTER_CAP``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

RETRY_AFTER_CAP = timedelta(hours=1)
RETRY_AFTER_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as a wait from ``now``; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


def next_attempt_at(
    *,
    attempts_made: int,
    schedule: Sequence[float],
    now: datetime,
    retry_after: timedelta | None = None,
) -> datetime | None:
    """When to try again after ``attempts_made`` failed attempts; None when they are used up."""
    if attempts_made > len(schedule):
        return None
    wait = timedelta(seconds=schedule[attempts_made - 1])
    if retry_after is not None:
        wait = max(wait, min(retry_after, RETRY_AFTER_CAP))
    return now + wait
