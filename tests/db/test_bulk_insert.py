"""Bulk writes keep an INSERT's guarantees: conflicting rows are skipped and said so, times
are stored as the same instants, a value too long for its column is refused, never cut
(SQLite: a multi-row INSERT; PostgreSQL: unnest and COPY)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from app.db.bulk_insert import insert_ignore_entities, insert_ignore_rows
from app.db.engine import Database
from app.incidents.models import Incident
from tests.factories import FakeClock
from tests.webhooks.helpers import make_parcels, tenant_id


def _incident(tenant: uuid.UUID, parcel: uuid.UUID, number: int, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant,
        "number": number,
        "parcel_id": parcel,
        "type": "delay",
        "source": "auto",
        "status": "open",
        "detected_at": now,
        "opened_at": now,
        "next_step_action": None if number % 2 else f"Call the carrier ({number})",
        "next_step_due_at": now + timedelta(days=1),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def test_rows_already_held_by_a_unique_index_are_skipped_and_left_out_of_the_answer(
    db: Database, clock: FakeClock
) -> None:
    tenant = tenant_id(db)
    first, second, third = make_parcels(db, tenant, 3, clock.now)
    held = _incident(tenant, first, 1, clock.now)
    with db.session() as session:
        assert insert_ignore_rows(session, Incident.__table__, [held]) == {held["id"]}  # type: ignore[attr-defined]
        session.commit()

    local = clock.now.astimezone(timezone(timedelta(hours=8)))  # the same instant, in CN time
    again = _incident(tenant, first, 2, clock.now)  # a second open automatic one: refused
    fresh = [_incident(tenant, second, 3, local), _incident(tenant, third, 4, clock.now)]
    with db.session() as session:
        inserted = insert_ignore_rows(session, Incident.__table__, [again, *fresh])  # type: ignore[attr-defined]
        session.commit()

    assert inserted == {row["id"] for row in fresh}
    with db.session() as session:
        stored = session.exec(select(Incident).order_by(col(Incident.number))).all()
    assert [(i.number, i.parcel_id) for i in stored] == [(1, first), (3, second), (4, third)]
    assert all(i.detected_at == clock.now for i in stored)
    assert [i.next_step_action for i in stored] == [None, None, "Call the carrier (4)"]


def test_nothing_to_insert_inserts_nothing(db: Database) -> None:
    with db.session() as session:
        assert insert_ignore_rows(session, Incident.__table__, []) == set()  # type: ignore[attr-defined]


def test_the_objects_of_the_rows_that_went_in_come_back_in_the_rows_order(
    db: Database, clock: FakeClock
) -> None:
    tenant = tenant_id(db)
    parcels = make_parcels(db, tenant, 4, clock.now)
    held = _incident(tenant, parcels[0], 1, clock.now)
    with db.session() as session:
        insert_ignore_rows(session, Incident.__table__, [held])  # type: ignore[attr-defined]
        session.commit()

    # the same times in every row (sent once), a second open one for the first parcel (skipped)
    rows = [_incident(tenant, parcel, 10 - i, clock.now) for i, parcel in enumerate(parcels)]
    with db.session() as session:
        opened = insert_ignore_entities(session, Incident, rows)
        assert [i.id for i in opened] == [row["id"] for row in rows[1:]]
        assert all(session.get(Incident, i.id) is i for i in opened)  # loaded, not copied
        assert [(i.number, i.status, i.resolution) for i in opened] == [
            (9, "open", None),
            (8, "open", None),
            (7, "open", None),
        ]
        assert all(i.detected_at == clock.now for i in opened)
        session.commit()

    with db.session() as session:
        stored = session.exec(select(Incident).order_by(col(Incident.number))).all()
    assert [i.number for i in stored] == [1, 7, 8, 9]
    assert [i.next_step_action for i in stored] == [None, None, "Call the carrier (8)", None]


def test_no_rows_give_no_objects(db: Database) -> None:
    with db.session() as session:
        assert insert_ignore_entities(session, Incident, []) == []


# SQLite keeps any length: only PostgreSQL enforces VARCHAR(n), and only it unnests
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("every_row", [False, True], ids=["in-one-row", "in-every-row"])
def test_a_value_too_long_for_its_column_is_refused_not_cut(
    db: Database, clock: FakeClock, every_row: bool
) -> None:
    """next_step_action is VARCHAR(500). Sent as an array (it differs between rows) or as one
    value (the same in every row), a cast to VARCHAR(500) would store its first 500
    characters; a plain INSERT refuses it, and so does the bulk one."""
    tenant = tenant_id(db)
    parcels = make_parcels(db, tenant, 2, clock.now)
    rows = [_incident(tenant, parcel, n, clock.now) for n, parcel in enumerate(parcels, 1)]
    too_long = "x" * 501
    for row in rows if every_row else rows[:1]:
        row["next_step_action"] = too_long

    with pytest.raises(DBAPIError, match="too long"), db.session() as session:
        insert_ignore_rows(session, Incident.__table__, rows)  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError, match="too long"), db.session() as session:
        insert_ignore_entities(session, Incident, rows)

    with db.session() as session:
        assert session.exec(select(Incident)).all() == []
