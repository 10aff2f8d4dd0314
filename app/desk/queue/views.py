"""The queue's saved views: each a fixed filter over statuses (and, for one, a time).

``mine`` and ``unassigned`` read the incident's owner; they are listed here with
``needs_owner`` and shown once incidents have one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.incidents.service import TRANSITIONS

UNRESOLVED = tuple(sorted(status for status in TRANSITIONS if status != "resolved"))


@dataclass(frozen=True, slots=True)
class SavedView:
    key: str
    label: str
    statuses: tuple[str, ...]
    resolved_this_week: bool = False
    needs_owner: bool = False


SAVED_VIEWS: tuple[SavedView, ...] = (
    SavedView("open", "All open", UNRESOLVED),
    SavedView("mine", "Mine", UNRESOLVED, needs_owner=True),
    SavedView("unassigned", "Unassigned", UNRESOLVED, needs_owner=True),
    SavedView("awaiting_carrier", "Awaiting carrier", ("awaiting_carrier",)),
    SavedView("awaiting_customer", "Awaiting customer", ("awaiting_customer",)),
    SavedView("escalated", "Escalated", ("escalated",)),
    SavedView("resolved_week", "Resolved this week", ("resolved",), resolved_this_week=True),
)
VIEWS = {view.key: view for view in SAVED_VIEWS if not view.needs_owner}


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
