"""When to poll a parcel next: a pure function of its status and age.

Sooner when something is about to happen (out for delivery, failed attempt), later for
labels that have not been handed over and for long postal line-hauls. Finished journeys get
one confirming poll, then none; nothing is polled past the maximum tracking age.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from adapters.base import TERMINAL_STATUSES, ScanStatus
from app.stuck.verdict import carrier_class

HOUR = timedelta(hours=1)
# (express, postal) interval between polls
_INTERVALS: dict[ScanStatus, tuple[timedelta, timedelta]] = {
    ScanStatus.INFO_RECEIVED: (6 * HOUR, 12 * HOUR),
    ScanStatus.ACCEPTED: (3 * HOUR, 8 * HOUR),
    ScanStatus.IN_TRANSIT: (3 * HOUR, 8 * HOUR),
    ScanStatus.UNKNOWN: (3 * HOUR, 8 * HOUR),
    ScanStatus.CUSTOMS_HOLD: (4 * HOUR, 8 * HOUR),
    ScanStatus.EXCEPTION: (2 * HOUR, 4 * HOUR),
    ScanStatus.OUT_FOR_DELIVERY: (1 * HOUR, 1 * HOUR),
    ScanStatus.FAILED_ATTEMPT: (1 * HOUR, 2 * HOUR),
    ScanStatus.AVAILABLE_FOR_PICKUP: (6 * HOUR, 6 * HOUR),
}
CONFIRMING_POLL = 6 * HOUR
RETRY_AFTER_FAILURE = timedelta(minutes=15)
JITTER = 0.1


def next_poll_at(
    *,
    carrier: str,
    status: ScanStatus,
    previous_status: ScanStatus,
    registered_at: datetime,
    now: datetime,
    max_age: timedelta,
    rng: random.Random | None = None,
) -> datetime | None:
    """The next poll time, or None when polling should stop for good."""
    if now - registered_at >= max_age:
        return None
    if status in TERMINAL_STATUSES:
        # one confirming poll after the journey ends, then stop
        return None if previous_status in TERMINAL_STATUSES else now + CONFIRMING_POLL
    express, postal = _INTERVALS.get(status, _INTERVALS[ScanStatus.IN_TRANSIT])
    interval = express if carrier_class(carrier) == "express" else postal
    spread = (rng or random).uniform(-JITTER, JITTER)
    return now + interval * (1 + spread)


def retry_after_failure(now: datetime, rng: random.Random | None = None) -> datetime:
    return now + RETRY_AFTER_FAILURE * (1 + (rng or random).uniform(0, JITTER))


def backoff_after_failures(
    now: datetime, failures: int, *, ceiling: timedelta, rng: random.Random | None = None
) -> datetime:
    """A number failing alone waits twice as long after each failure, up to ``ceiling``."""
    wait = min(RETRY_AFTER_FAILURE * (1 << min(max(0, failures - 1), 20)), ceiling)
    return now + wait * (1 + (rng or random).uniform(0, JITTER))
