"""Which of a tenant's parcels are stuck right now, whatever incidents exist (``?stuck=true``).

The verdict is ``app.stuck.verdict.judge`` on each parcel's facts and the tenant's rules, the
same as the detect-stuck job uses. The database only narrows the candidates: a parcel can be
stuck by a threshold of N business days only if it has been quiet for at least N calendar
days, and the scans that need someone at once are found by their status.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from adapters.base import ScanStatus
from app.parcels.models import Parcel
from app.parcels.service import ParcelFilters, filtered
from app.stuck.checks import facts_of
from app.stuck.rules import rules_for
from app.stuck.verdict import DEFAULT_THRESHOLDS, StuckRule, Verdict, judge

AT_ONCE_STATUSES = (
    ScanStatus.EXCEPTION,
    ScanStatus.RETURNED_TO_SENDER,
    ScanStatus.FAILED_ATTEMPT,
    ScanStatus.CUSTOMS_HOLD,
)
FINISHED = (ScanStatus.DELIVERED, ScanStatus.CANCELLED)
CHUNK = 500


def shortest_quiet(rules: list[StuckRule]) -> timedelta:
    """No threshold can fire on a parcel quiet for less than this many calendar days."""
    days = [d for pair in DEFAULT_THRESHOLDS.values() for d in pair] + [
        r.business_days for r in rules
    ]
    return timedelta(days=math.floor(min(days)))


def may_be_stuck(now: datetime, rules: list[StuckRule]) -> ColumnElement[bool]:
    """SQL that keeps every parcel the verdict could call stuck now (and drops most others)."""
    quiet_since = func.coalesce(col(Parcel.last_scan_at), col(Parcel.created_at))
    return and_(
        col(Parcel.status).not_in([s.value for s in FINISHED]),
        col(Parcel.detection_settled_at).is_(None),
        or_(
            col(Parcel.status).in_([s.value for s in AT_ONCE_STATUSES]),
            quiet_since <= now - shortest_quiet(rules),
        ),
    )


def parcels_by_verdict(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    filters: ParcelFilters,
    stuck: bool,
    now: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Parcel, Verdict]]:
    """Newest first, keyset-paginated on (created_at, id): parcels whose verdict is ``stuck``."""
    rules = rules_for(session, tenant_id)
    found: list[tuple[Parcel, Verdict]] = []
    for parcel in _candidates(session, tenant_id, filters, stuck, now, rules, after):
        verdict = judge(facts_of(parcel), now=now, rules=rules)
        if verdict.stuck == stuck:
            found.append((parcel, verdict))
            if len(found) == limit:
                break
    return found


def _candidates(
    session: Session,
    tenant_id: uuid.UUID,
    filters: ParcelFilters,
    stuck: bool,
    now: datetime,
    rules: list[StuckRule],
    after: tuple[datetime, uuid.UUID] | None,
) -> Iterator[Parcel]:
    while True:
        query = filtered(select(Parcel), tenant_id=tenant_id, filters=filters, after=after)
        if stuck:
            query = query.where(may_be_stuck(now, rules))
        chunk = list(session.exec(query.limit(CHUNK)))
        yield from chunk
        if len(chunk) < CHUNK:
            return
        after = (chunk[-1].created_at, chunk[-1].id)
