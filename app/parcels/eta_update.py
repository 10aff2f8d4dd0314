"""Keeping a parcel's estimated delivery up to date, and saying so when the window moves.

Estimated when the parcel is registered, and again when new scans or a new carrier estimate
arrive (``app/tracking/apply.py``), but never once the parcel is delivered, returned or
cancelled: its last estimate then stays, for the record. The carrier's own estimate wins
(``eta.choose``); an answer that no longer repeats it, or a pushed scan, keeps it rather than
falling back to our history, which would make the window flap between the two.

When a window that was already set changes, ``parcel.eta_changed`` is emitted with the
previous one; the first estimate, or a new basis giving the same days, is no news.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlmodel import Session

from adapters import registry
from adapters.base import TERMINAL_STATUSES, DeliveryWindow, ScanStatus
from app.outbox.events import emit
from app.parcels.eta import Basis, Estimate, choose
from app.parcels.eta_history import LaneHistory, start_of
from app.parcels.models import Parcel
from app.parcels.views import parcel_payload


def stored_estimate(parcel: Parcel) -> Estimate | None:
    if parcel.eta_earliest is None or parcel.eta_latest is None or parcel.eta_basis is None:
        return None
    return Estimate(parcel.eta_earliest, parcel.eta_latest, cast(Basis, parcel.eta_basis))


def estimate_for(
    parcel: Parcel, *, carrier_window: DeliveryWindow | None, history: LaneHistory
) -> Estimate:
    """The best estimate for ``parcel`` now; the lane's history is only read when needed."""
    return choose(
        carrier_window=carrier_window,
        transits=history.transits(parcel) if carrier_window is None else (),
        network=registry.network(parcel.carrier),
        start=start_of(parcel),
        country=parcel.destination_country,
    )


def is_news(parcel: Parcel, carrier_window: DeliveryWindow | None) -> bool:
    """True when a carrier's window differs from what the parcel shows (no query needed)."""
    if carrier_window is None:
        return False
    shown = stored_estimate(parcel)
    wanted = Estimate(carrier_window.earliest, carrier_window.latest, "carrier")
    return shown != wanted


def update_estimate(
    session: Session,
    *,
    parcel: Parcel,
    now: datetime,
    carrier_window: DeliveryWindow | None = None,
    history: LaneHistory | None = None,
) -> bool:
    """Re-estimate ``parcel`` (flushing nothing); True when ``parcel.eta_changed`` was emitted.

    ``history`` lets a page of parcels share the lane queries; one is made when not given.
    """
    if ScanStatus(parcel.status) in TERMINAL_STATUSES:
        return False
    previous = stored_estimate(parcel)
    if carrier_window is None and previous is not None and previous.basis == "carrier":
        return False
    estimate = estimate_for(
        parcel, carrier_window=carrier_window, history=history or LaneHistory(session)
    )
    if estimate == previous:
        return False
    parcel.eta_earliest, parcel.eta_latest = estimate.earliest, estimate.latest
    parcel.eta_basis = estimate.basis
    parcel.updated_at = now
    session.add(parcel)
    if previous is None or estimate.same_window(previous):
        return False
    emit(
        session,
        type="parcel.eta_changed",
        occurred_at=now,
        tenant_id=parcel.tenant_id,
        parcel_id=parcel.id,
        payload={
            "parcel": parcel_payload(parcel),
            "previous": {
                "earliest": previous.earliest.isoformat(),
                "latest": previous.latest.isoformat(),
                "basis": previous.basis,
            },
        },
    )
    return True
