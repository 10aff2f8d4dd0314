"""A detection batch stores its parcels' next check times in one statement: each parcel gets
its own moment, an instant given in any zone is stored as that instant, and None (never
again) is stored as None (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta, timezone

from sqlmodel import col, select

from app.db.engine import Database
from app.parcels.models import Parcel
from app.stuck.checks import store_check_times
from tests.factories import FakeClock
from tests.webhooks.helpers import make_parcels, tenant_id


def test_each_parcel_gets_its_own_next_check_and_the_others_keep_theirs(
    db: Database, clock: FakeClock
) -> None:
    soon, later, never, untouched = make_parcels(db, tenant_id(db), 4, clock.now)
    in_china = (clock.now + timedelta(days=3)).astimezone(timezone(timedelta(hours=8)))
    with db.session() as session:
        store_check_times(
            session,
            [(soon, clock.now + timedelta(hours=1)), (later, in_china), (never, None)],
        )
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


def test_storing_no_check_times_writes_nothing(db: Database) -> None:
    with db.session() as session:
        store_check_times(session, [])
        session.commit()
