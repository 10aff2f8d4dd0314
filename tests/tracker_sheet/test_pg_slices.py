"""The CSV export's slices: two connections in one snapshot, the slices back in order, and
nothing left running when the reader stops early."""

from __future__ import annotations

import random
import threading
import time
from typing import Any, cast

import pytest
from psycopg import Connection
from sqlalchemy import text

from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.tracker_sheet import pg_slices
from app.tracker_sheet.pg_cells import Slice

pytestmark = pytest.mark.postgres_only


def _count_tenants(connection: Connection[Any]) -> int:
    row = connection.execute("SELECT count(*) FROM tenants").fetchone()
    assert row is not None
    return int(row[0])


def test_both_connections_see_the_data_as_it_was_when_the_export_began(db: Database) -> None:
    with db.session() as session:
        ensure_tenant(session, slug="before")
        session.commit()

    with pg_slices.snapshot_connections(db, "SET LOCAL jit = off") as connections:
        first, second = connections
        assert _count_tenants(first) == 1
        with db.session() as session:  # committed after the export's snapshot was taken
            ensure_tenant(session, slug="after")
            session.commit()

        assert _count_tenants(second) == 1
        assert _count_tenants(first) == 1
        isolation = second.execute("SHOW transaction_isolation").fetchone()
        assert isolation == ("repeatable read",)

    with db.session() as session:
        assert session.execute(text("SELECT count(*) FROM tenants")).scalar() == 2
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def _parts(count: int) -> list[Slice]:
    return [Slice(rows=n) for n in range(count)]


def _fake_connections() -> list[Connection[Any]]:
    return cast(list[Connection[Any]], ["first", "second"])


def test_the_slices_come_back_in_order_whichever_connection_finishes_first() -> None:
    def read(connection: Connection[Any], part: Slice) -> tuple[Any, int | None]:
        time.sleep(random.uniform(0, 0.01))
        return connection, part.rows

    got = list(pg_slices.in_order(_fake_connections(), _parts(9), read))

    assert got == [(["first", "second"][n % 2], n) for n in range(9)]


def test_an_error_in_a_connections_thread_is_raised_to_the_reader() -> None:
    def read(_connection: Connection[Any], part: Slice) -> int | None:
        if part.rows == 3:
            raise LookupError("slice 3 failed")
        return part.rows

    got: list[int | None] = []
    with pytest.raises(LookupError, match="slice 3 failed"):
        got.extend(pg_slices.in_order(_fake_connections(), _parts(9), read))

    assert got == [0, 1, 2]
    assert not [t for t in threading.enumerate() if t.name.startswith("tracker-export-")]


def test_a_reader_that_stops_early_leaves_no_thread_reading() -> None:
    read_parts: list[int | None] = []

    def read(_connection: Connection[Any], part: Slice) -> int | None:
        read_parts.append(part.rows)
        return part.rows

    slices = pg_slices.in_order(_fake_connections(), _parts(100), read)
    assert next(slices) == 0
    slices.close()

    assert not [t for t in threading.enumerate() if t.name.startswith("tracker-export-")]
    assert len(read_parts) <= 5  # each thread: one handed over, one waiting, one read after
