"""The dispatcher's doorbell: a NOTIFY that only a committed transaction with due deliveries
sends, once per transaction however many deliveries it writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.db.types import utcnow
from app.outbox.events import emit
from app.webhooks.wake import CHANNEL
from tests.factories import ApiClient
from tests.webhooks.helpers import deliveries, make_parcels, subscribe, tenant_id

END = "end-of-test"


@pytest.fixture
def listener(db: Database) -> Iterator[psycopg.Connection[object]]:
    """A plain LISTEN connection to the test database."""
    engine = db.engine
    args, params = engine.dialect.create_connect_args(engine.url)
    params.pop("context", None)
    with psycopg.connect(*args, autocommit=True, **params) as connection:
        connection.execute(f"LISTEN {CHANNEL}")
        yield connection


def _emit_status_changes(db: Database, parcels: list[uuid.UUID], *, commit: bool) -> None:
    tenant = tenant_id(db)
    with db.session() as session:
        for parcel in parcels:
            emit(
                session,
                type="parcel.status_changed",
                occurred_at=utcnow(),
                tenant_id=tenant,
                parcel_id=parcel,
                payload={},
            )
        if commit:
            session.commit()


def _received_until_end(db: Database, connection: psycopg.Connection[object]) -> list[str]:
    """Every notification on the channel up to a marker sent last (PostgreSQL delivers them
    in commit order, so nothing committed before the marker can arrive after it)."""
    with db.engine.begin() as marker:
        marker.execute(text(f"NOTIFY {CHANNEL}, '{END}'"))
    payloads: list[str] = []
    for notice in connection.notifies(timeout=30):
        if notice.payload == END:
            return payloads
        payloads.append(notice.payload)
    raise AssertionError("the end marker never arrived")


@pytest.mark.postgres_only
def test_a_committed_transaction_with_deliveries_notifies_once(
    api: ApiClient, db: Database, listener: psycopg.Connection[object]
) -> None:
    subscribe(api, "http://127.0.0.1:9/hook")
    parcels = make_parcels(db, tenant_id(db), 3, utcnow())

    _emit_status_changes(db, parcels, commit=True)

    assert _received_until_end(db, listener) == [""]  # three deliveries, one wake-up


@pytest.mark.postgres_only
def test_a_rolled_back_transaction_or_one_without_deliveries_wakes_nobody(
    api: ApiClient, db: Database, listener: psycopg.Connection[object]
) -> None:
    parcels = make_parcels(db, tenant_id(db), 1, utcnow())
    _emit_status_changes(db, parcels, commit=True)  # no endpoint yet: no delivery
    subscribe(api, "http://127.0.0.1:9/hook")

    _emit_status_changes(db, parcels, commit=False)

    assert _received_until_end(db, listener) == []


def test_the_wake_up_rides_along_with_the_commit_on_either_database(
    api: ApiClient, db: Database
) -> None:
    """SQLite has no NOTIFY: none is tried there; on PostgreSQL it is part of the commit."""
    subscribe(api, "http://127.0.0.1:9/hook")
    parcels = make_parcels(db, tenant_id(db), 2, utcnow())

    _emit_status_changes(db, parcels, commit=True)

    assert [row.status for row in deliveries(db)] == ["pending", "pending"]
