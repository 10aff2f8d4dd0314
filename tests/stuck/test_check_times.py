"""A detection batch stores its parcels' next check times in one statement, running while the
batch builds its rows: each parcel gets its own moment, an instant given in any zone is stored
as that instant, None (never again) is stored as None, and whatever the block reads sees them
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import col, select

from app.db.engine import Database
from app.parcels.models import Parcel
from app.stuck.checks import DatabaseBusy, storing_check_times
from tests.factories import FakeClock
from tests.webhooks.helpers import make_parcels, tenant_id


def test_each_parcel_gets_its_own_next_check_and_the_others_keep_theirs(
    db: Database, clock: FakeClock
) -> None:
    soon, later, never, untouched = make_parcels(db, tenant_id(db), 4, clock.now)
    in_china = (clock.now + timedelta(days=3)).astimezone(timezone(timedelta(hours=8)))
    moments = [(soon, clock.now + timedelta(hours=1)), (later, in_china), (never, None)]
    with db.session() as session:
        with storing_check_times(session, moments):
            built = [f"row {i}" for i in range(1000)]  # the batch's Python work, meanwhile
        assert len(built) == 1000
        session.commit()

    with db.session() as session:
        stored = {
            p.id: p.stuck_check_at
            for p in session.exec(select(Parcel).where(col(Parcel.id).in_([soon, later, never])))
        }
        other = session.get(Parcel, untouched)
    assert stored == {
        soon: clock.now + timedelta(hours=1),
        later: clock.now + timedelta(days=3),
        never: None,
    }
    assert other is not None
    assert other.stuck_check_at is None  # never scheduled, not written


def test_the_block_may_not_use_the_database_and_is_told_why(db: Database, clock: FakeClock) -> None:
    [parcel_id] = make_parcels(db, tenant_id(db), 1, clock.now)
    moments = [(parcel_id, clock.now)]
    with db.session() as session:
        with pytest.raises(DatabaseBusy), storing_check_times(session, moments):
            session.exec(select(Parcel.stuck_check_at).where(Parcel.id == parcel_id)).one()
        session.rollback()
        with storing_check_times(session, moments):
            pass
        # after the block the session is the caller's again, and sees the new check time
        stored = session.exec(select(Parcel.stuck_check_at).where(Parcel.id == parcel_id)).one()
    assert stored == clock.now


def test_a_naive_moment_is_refused_as_an_orm_write_refuses_it(
    db: Database, clock: FakeClock
) -> None:
    [parcel_id] = make_parcels(db, tenant_id(db), 1, clock.now)
    naive = clock.now.replace(tzinfo=None)
    with (
        db.session() as session,
        pytest.raises((ValueError, StatementError), match="naive datetime refused"),
        storing_check_times(session, [(parcel_id, naive)]),
    ):
        pass


def test_storing_no_check_times_writes_nothing(db: Database) -> None:
    with db.session() as session:
        with storing_check_times(session, []):
            pass
        session.commit()
