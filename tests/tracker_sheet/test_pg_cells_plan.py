"""The fast export's per-incident lookups can use indexes: a lookup that cannot reads a whole
table for every incident, which no small test data shows but a real tracker does.

The export turns bitmap scans off (``pg_export.SESSION``); with sequential scans off too, a
lookup that still scans its table has no index it can use. The messages' lookup once had
none ("incident_id = ... OR parcel_id = ..."): 200 rows a second beside 50,000 messages.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.db.engine import Database
from app.incidents.queries import IncidentFilters
from app.tracker_sheet import pg_cells, pg_export

pytestmark = pytest.mark.postgres_only
NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)


def _plan(db: Database, statement: tuple[str, dict[str, object]]) -> str:
    query, params = statement
    with db.session() as session:
        driver = session.connection().connection.driver_connection
        assert driver is not None
        driver.execute(pg_export.SESSION)
        driver.execute("SET LOCAL enable_seqscan = off")
        rows = driver.execute(f"EXPLAIN {query}", params).fetchall()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("kind", ["csv", "typed"])
def test_timeline_and_messages_are_looked_up_by_index(db: Database, kind: str) -> None:
    build = pg_cells.csv_statement if kind == "csv" else pg_cells.typed_statement
    statement = build(db.engine.dialect, tenant_id=uuid.uuid4(), filters=IncidentFilters(), now=NOW)

    plan = _plan(db, statement)

    assert "Seq Scan on customer_messages" not in plan
    assert "Seq Scan on timeline_entries" not in plan
    assert "ix_customer_messages_incident_id_occurred_at_id" in plan
    assert "ix_customer_messages_parcel_id_occurred_at_id" in plan
