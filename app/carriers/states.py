"""Can we reach each carrier? One row per carrier, shared by every process.

Silence is not the same as not knowing: while a carrier cannot be polled, its parcels are not
judged stuck, and one ``carrier.unavailable`` event is raised per outage (not one incident per
parcel), then ``carrier.recovered``. The transitions are guarded UPDATEs, so when several
scheduler processes see the same outage only one of them raises the event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from app.carriers.models import CarrierState
from app.db.upsert import insert_ignore
from app.outbox.events import emit

# a success is written at most this often per carrier, so busy pollers do not queue on the row
SUCCESS_WRITE_INTERVAL = timedelta(minutes=1)
# distinct failing numbers remembered per carrier (enough for any outage threshold)
FAILING_NUMBERS_KEPT = 100


def _ensure_row(session: Session, carrier: str) -> None:
    """The carrier's row, available. ``available_since`` stays empty: it is when an outage
    ended, and a carrier first seen has had none. Stamping this transaction's ``now`` there
    made parcels a concurrent poll stored with an earlier time look unpolled to detection."""
    insert_ignore(
        session,
        CarrierState.__table__,  # type: ignore[attr-defined]
        {"carrier": carrier, "available": True},
    )


def record_success(session: Session, *, carrier: str, now: datetime) -> bool:
    """The carrier answered; True when this ended an outage (``carrier.recovered`` raised)."""
    state = session.get(CarrierState, carrier)
    if (
        state is not None
        and state.available
        and not state.failing_numbers
        and state.last_success_at is not None
        and now - state.last_success_at < SUCCESS_WRITE_INTERVAL
    ):
        return False
    _ensure_row(session, carrier)
    recovered = session.execute(
        update(CarrierState)
        .where(col(CarrierState.carrier) == carrier, col(CarrierState.available).is_(False))
        .values(available=True, available_since=now, last_success_at=now, failing_numbers="")
        .returning(col(CarrierState.unavailable_since))
        .execution_options(synchronize_session=False)
    ).first()
    if recovered is None:
        session.execute(
            update(CarrierState)
            .where(col(CarrierState.carrier) == carrier)
            .values(last_success_at=now, failing_numbers="")
            .execution_options(synchronize_session=False)
        )
        return False
    emit(
        session,
        type="carrier.recovered",
        occurred_at=now,
        tenant_id=None,
        payload={"carrier": carrier, "unavailable_since": recovered[0], "recovered_at": now},
    )
    return True


def record_outage(session: Session, *, carrier: str, error: str, now: datetime) -> bool:
    """A whole call failed; True when this started an outage (``carrier.unavailable`` raised)."""
    _ensure_row(session, carrier)
    started = session.execute(
        update(CarrierState)
        .where(col(CarrierState.carrier) == carrier, col(CarrierState.available).is_(True))
        .values(available=False, unavailable_since=now, last_failure_at=now, last_error=error)
        .returning(col(CarrierState.carrier))
        .execution_options(synchronize_session=False)
    ).first()
    if started is None:
        session.execute(
            update(CarrierState)
            .where(col(CarrierState.carrier) == carrier)
            .values(last_failure_at=now, last_error=error)
            .execution_options(synchronize_session=False)
        )
        return False
    emit(
        session,
        type="carrier.unavailable",
        occurred_at=now,
        tenant_id=None,
        payload={"carrier": carrier, "error": error, "unavailable_since": now},
    )
    return True


def note_failures(session: Session, *, carrier: str, numbers: set[str]) -> int:
    """Remember numbers whose calls failed while the carrier answered nobody; how many
    distinct ones failed since it last answered anyone (``record_success`` forgets them)."""
    _ensure_row(session, carrier)
    state = session.exec(
        select(CarrierState).where(CarrierState.carrier == carrier).with_for_update()
    ).one()
    known = dict.fromkeys(state.failing_numbers.split())
    known.update(dict.fromkeys(sorted(numbers)))
    kept = list(known)[-FAILING_NUMBERS_KEPT:]
    state.failing_numbers = " ".join(kept)
    session.add(state)
    return len(kept)


def is_unavailable(session: Session, carrier: str) -> bool:
    state = session.get(CarrierState, carrier)
    return state is not None and not state.available


def states(session: Session) -> dict[str, CarrierState]:
    return {s.carrier: s for s in session.exec(select(CarrierState))}
