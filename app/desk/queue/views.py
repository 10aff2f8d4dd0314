"""The queue's saved views: each a fixed filter over statuses (and, for one, a time; for two,
the owner: ``mine`` is the signed-in person's, ``unassigned`` nobody's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from app.incidents.service import TRANSITIONS

Owner = Literal["me", "nobody"]
UNRESOLVED = tuple(sorted(status for status in TRANSITIONS if status != "resolved"))


@dataclass(frozen=True, slots=True)
class SavedView:
    key: str
    label: str
    statuses: tuple[str, ...]
    resolved_this_week: bool = False
    owner: Owner | None = None


SAVED_VIEWS: tuple[SavedView, ...] = (
    SavedView("open", "All open", UNRESOLVED),
    SavedView("mine", "Mine", UNRESOLVED, owner="me"),
    SavedView("unassigned", "Unassigned", UNRESOLVED, owner="nobody"),
    SavedView("awaiting_carrier", "Awaiting carrier", ("awaiting_carrier",)),
    SavedView("awaiting_customer", "Awaiting customer", ("awaiting_customer",)),
    SavedView("escalated", "Escalated", ("escalated",)),
    SavedView("resolved_week", "Resolved this week", ("resolved",), resolved_this_week=True),
)
VIEWS = {view.key: view for view in SAVED_VIEWS}


def start_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def end_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    """Midnight after ``now`` in the desk's time zone: 'due today' is due before it."""
    return start_of_day(now, zone) + timedelta(days=1)


def start_of_week(now: datetime, zone: ZoneInfo) -> datetime:
    """Monday 00:00 of this week in the desk's time zone."""
    today = start_of_day(now, zone)
    return today - timedelta(days=today.weekday())
