"""Insert-unless-present: many rows at once write exactly what the same rows one by one write.

On PostgreSQL a batch travels as one array per column (``unnest``); these tests hold it to the
row-by-row INSERT: the same rows stored, the same values read back (times, None, booleans),
the same duplicates ignored, and a value too long for its column refused, never cut.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import DBAPIError

from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.db.upsert import insert_ignore, insert_ignore_many
from app.parcels.models import Parcel, ScanRecord

SCANS: Table = ScanRecord.__table__  # type: ignore[attr-defined]
AT = datetime(2026, 3, 12, 9, 30, 15, 123456, tzinfo=UTC)


def _parcel(db: Database, number: str) -> tuple[uuid.UUID, uuid.UUID]:
    with db.unit_of_work() as session:
        tenant = ensure_tenant(session, slug="acme")
        parcel = Parcel(
            tenant_id=tenant.id, carrier="ups", tracking_number=number, order_id=f"SO-{number}"
        )
        session.add(parcel)
        session.flush()
        return tenant.id, parcel.id


def _scan(tenant_id: uuid.UUID, parcel_id: uuid.UUID, n: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "parcel_id": parcel_id,
        "status": "in_transit",
        "occurred_at": AT + timedelta(hours=n),
        "description": f'Départ de l\'installation «{n}», "quoted" {{braced}} \\ back',
        "city": None if n % 2 else "Köln",
        "region": None,
        "postal_code": "50667" if n % 3 else None,
        "country": "DE",
        "raw_code": "I",
        "raw_text": None,
        "raw_timestamp": (AT + timedelta(hours=n)).isoformat(),
        "carrier_delay": n % 2 == 0,
        "exception_reason": None,
        "source": "carrier",
        "fingerprint": f"fp-{n}",
        "recorded_at": AT,
    }
    return row | overrides


def _stored(db: Database, parcel_id: uuid.UUID) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.execute(
            select(SCANS).where(SCANS.c.parcel_id == parcel_id).order_by(SCANS.c.fingerprint)
        ).mappings()
        return [{k: v for k, v in row.items() if k not in ("id", "parcel_id")} for row in rows]


def test_a_batch_stores_what_the_same_rows_one_by_one_store(db: Database) -> None:
    tenant_id, batched = _parcel(db, "1Z-BATCHED")
    _, single = _parcel(db, "1Z-SINGLE")
    with db.unit_of_work() as session:
        ids = insert_ignore_many(session, SCANS, [_scan(tenant_id, batched, n) for n in range(7)])
        for n in range(7):
            assert insert_ignore(session, SCANS, _scan(tenant_id, single, n))

    assert len(ids) == 7
    assert _stored(db, batched) == _stored(db, single)
    assert _stored(db, batched)[0]["occurred_at"] == AT


def test_a_batch_returns_only_the_rows_that_went_in(db: Database) -> None:
    tenant_id, parcel_id = _parcel(db, "1Z-AGAIN")
    first = [_scan(tenant_id, parcel_id, n) for n in range(3)]
    with db.unit_of_work() as session:
        insert_ignore_many(session, SCANS, first)
    again = [_scan(tenant_id, parcel_id, n) for n in range(5)]  # same fingerprints, new ids
    with db.unit_of_work() as session:
        went_in = insert_ignore_many(session, SCANS, again)

    assert went_in == {row["id"] for row in again[3:]}
    assert len(_stored(db, parcel_id)) == 5


def test_a_value_too_long_for_its_column_is_refused_in_a_batch_too(db: Database) -> None:
    tenant_id, parcel_id = _parcel(db, "1Z-LONG")
    rows = [_scan(tenant_id, parcel_id, 0), _scan(tenant_id, parcel_id, 1, country="DEU")]
    if db.dialect == "sqlite":
        pytest.skip("SQLite does not enforce a column's length")
    with pytest.raises(DBAPIError), db.unit_of_work() as session:
        insert_ignore_many(session, SCANS, rows)
    assert _stored(db, parcel_id) == []
