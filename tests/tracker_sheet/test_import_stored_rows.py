"""What an import stores, to the column: a varied 200-row sheet against a recorded expectation.

The expectation (``golden/import_200.json``) was recorded from the import as it stood before
its writes were made faster (multi-row INSERTs, before COPY and the memoised checks), so any
change to what gets stored, on SQLite or PostgreSQL, fails here and names the column. A row's
parcel may exist before the import (registered through the API's own service) or be named by
two rows; rows with errors store nothing. Re-running the sheet changes nothing.

To record it again after a deliberate change: ``RT_UPDATE_GOLDEN=1`` and run this test once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.core.actors import Actor
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.parcels.schemas import ParcelCreate
from app.parcels.service import register_parcel
from app.tracker_sheet.errors import ImportLimits
from app.tracker_sheet.importer import import_table
from app.tracker_sheet.reader import read_table
from app.tracker_sheet.report import ImportReport
from tests.tracker_sheet.stored_rows import dump, varied_sheet

NOW = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden" / "import_200.json"


def _import(db: Database, tenant_id: Any, batch_rows: int) -> ImportReport:
    return import_table(
        db,
        tenant_id=tenant_id,
        table=read_table(varied_sheet(200), ImportLimits()),
        dry_run=False,
        actor=Actor("api_key", None, "importer@example.com"),
        now=NOW,
        default_next_step_hours=48,
        batch_rows=batch_rows,
    )


def _lines(stored: dict[str, Any]) -> str:
    """One JSON line per parcel and per incident: a change shows as a short diff."""
    out = ["{", f' "report": {_compact(stored["report"])},', ' "stored": {', '  "parcels": {']
    parcels = list(stored["stored"]["parcels"].items())
    out += [f"   {_compact(k)}: {_compact(v)}," for k, v in parcels]
    out[-1] = out[-1].rstrip(",")
    out += ["  },", '  "incidents": [']
    out += [f"   {_compact(incident)}," for incident in stored["stored"]["incidents"]]
    out[-1] = out[-1].rstrip(",")
    return "\n".join([*out, "  ]", " }", "}", ""])


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _counts(report: ImportReport) -> dict[str, Any]:
    answer = asdict(report)
    answer["errors"] = [asdict(error) for error in report.errors]
    return answer


@pytest.fixture
def tenant_id(db: Database) -> Any:
    """A tenant that already had two parcels: row 8's (no incident yet) and one that row 15's
    tracking number belongs to under another order."""
    with db.unit_of_work() as session:
        tenant = ensure_tenant(session, slug="golden")
        for order, number in (("SO-1006", "1Z999AA10000000006"), ("SO-9", "0000000013")):
            register_parcel(
                session,
                tenant_id=tenant.id,
                data=ParcelCreate(order_id=order, tracking_number=number),
                carrier="ups" if number.startswith("1Z") else "dhl",
                now=NOW,
            )
        return tenant.id


@pytest.mark.parametrize("batch_rows", [37])
def test_a_varied_sheet_stores_exactly_the_recorded_rows(
    db: Database, tenant_id: Any, batch_rows: int
) -> None:
    report = _import(db, tenant_id, batch_rows)
    with db.session() as session:
        stored = {"report": _counts(report), "stored": dump(session, tenant_id)}

    if os.environ.get("RT_UPDATE_GOLDEN"):
        GOLDEN.write_text(_lines(stored))
        pytest.fail(f"{GOLDEN.name} recorded anew: check its diff, then run without the variable")
    expected = json.loads(GOLDEN.read_text())
    assert stored["report"] == expected["report"]
    assert stored["stored"]["parcels"] == expected["stored"]["parcels"]
    incidents = zip(stored["stored"]["incidents"], expected["stored"]["incidents"], strict=True)
    for got, want in incidents:
        assert got == want, got["number"]


def test_a_second_run_of_the_sheet_stores_nothing_more(db: Database, tenant_id: Any) -> None:
    first = _import(db, tenant_id, 50)
    with db.session() as session:
        before = dump(session, tenant_id)

    again = _import(db, tenant_id, 50)

    with db.session() as session:
        assert dump(session, tenant_id) == before
    assert (again.imported, again.already_imported) == (0, first.imported)
