"""How long this tenant's parcels took on a lane: the one query behind a ``history`` estimate.

Bounded so it stays cheap however old the tenant: only the latest ``HISTORY_LIMIT``
deliveries of the lane count (by the delivery scan's time), and only the columns the maths
needs are read. A delivered parcel's ``last_scan_at`` is its delivery scan (its status is its
newest scan's), so no scan rows are joined. One poll page asks about each lane once
(``LaneHistory`` remembers the answers for the length of one page).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from adapters.base import ScanStatus
from app.parcels.eta import transit_business_days
from app.parcels.models import Parcel

HISTORY_LIMIT = 500
Lane = tuple[uuid.UUID, str, str, str]  # tenant, carrier, origin country, destination country


def lane_of(parcel: Parcel) -> Lane | None:
    """The parcel's lane; None when either country is unknown (no history to compare with)."""
    if not parcel.origin_country or not parcel.destination_country:
        return None
    return (parcel.tenant_id, parcel.carrier, parcel.origin_country, parcel.destination_country)


def start_of(parcel: Parcel) -> datetime:
    """Where a parcel's transit time starts: when it shipped, else when it was registered."""
    return parcel.shipped_at or parcel.created_at


def lane_transits(session: Session, lane: Lane, *, limit: int = HISTORY_LIMIT) -> list[float]:
    """Transit times (business days of the destination country) of the lane's latest
    deliveries, newest first; a delivery scan dated before its shipping is left out."""
    tenant_id, carrier, origin, destination = lane
    rows = session.exec(
        select(Parcel.shipped_at, Parcel.created_at, Parcel.last_scan_at)
        .where(
            Parcel.tenant_id == tenant_id,
            Parcel.carrier == carrier,
            Parcel.origin_country == origin,
            Parcel.destination_country == destination,
            Parcel.status == ScanStatus.DELIVERED.value,
            col(Parcel.last_scan_at).is_not(None),
        )
        .order_by(col(Parcel.last_scan_at).desc())
        .limit(limit)
    )
    transits = []
    for shipped_at, created_at, delivered_at in rows:
        start = shipped_at or created_at
        if delivered_at is not None and delivered_at >= start:
            transits.append(transit_business_days(start, delivered_at, destination))
    return transits


class LaneHistory:
    """``lane_transits`` asked once per lane: a poll page often holds many parcels of one."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[Lane, list[float]] = {}

    def transits(self, parcel: Parcel) -> list[float]:
        lane = lane_of(parcel)
        if lane is None:
            return []
        if lane not in self._known:
            self._known[lane] = lane_transits(self.session, lane)
        return self._known[lane]
