"""A real import commits batch by batch: a failed batch costs only its rows, a re-run only
imports what is missing, and the work per batch does not grow with the rows."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import event

from app.core.errors import AppError
from app.core.settings import Settings
from app.db.engine import Database
from app.incidents import timeline
from app.tracker_sheet import bulk
from app.tracker_sheet.columns import TRACKER_COLUMNS
from app.tracker_sheet.report import MAX_LISTED_ERRORS
from tests.factories import ApiClient


def tracker(count: int, *, boom_at: int | None = None, start: int = 1) -> bytes:
    """``count`` rows of sandbox parcels; the log of order ``boom_at`` holds a line that the
    fault injected below refuses to save."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TRACKER_COLUMNS)
    for i in range(start, start + count):
        log = f"2026-03-10 10:00 UTC | anna | note | called the customer about SO-{i}"
        if i == boom_at:
            log += "\n2026-03-10 11:00 UTC | anna | note | BOOM"
        row = {
            "Order ID": f"SO-{i}",
            "Carrier": "sandbox",
            "Tracking Number": f"SANDBOX-INTRANSIT-{i:04d}",
            "Customer Contact": f"c{i}@example.com; ticket ZD-{i}",
            "Customer Reported Date": "2026-03-10T09:00:00Z",
            "Internal Action Log": log,
            "Resolution Status": "Open",
        }
        writer.writerow([row.get(name, "") for name in TRACKER_COLUMNS])
    return buffer.getvalue().encode()


def run(api: ApiClient, content: bytes, *, dry_run: bool = False) -> dict[str, Any]:
    response = api.post(
        "/v1/incidents/import",
        params={"dry_run": str(dry_run).lower()},
        content=content,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def orders(api: ApiClient) -> list[str]:
    found: list[str] = []
    page = api.get("/v1/incidents", params={"page_size": 100}).json()
    while True:
        found += [item["order_id"] for item in page["items"]]
        if not page.get("next_page_token"):
            return sorted(found, key=lambda o: int(o.removeprefix("SO-")))
        page = api.get(
            "/v1/incidents", params={"page_size": 100, "page_token": page["next_page_token"]}
        ).json()


def refuse_boom(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault while saving (as a lost connection or a conflicting write would be)."""
    chained = timeline.chained_values

    def chained_or_fail(**kwargs: Any) -> Any:
        if kwargs["summary"] == "BOOM":
            raise AppError("the timeline refused the entry")
        return chained(**kwargs)

    monkeypatch.setattr(bulk, "chained_values", chained_or_fail)


def test_a_failed_batch_mid_file_keeps_the_batches_before_it_and_a_rerun_imports_the_rest(
    api: ApiClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.import_batch_rows = 4
    content = tracker(10, boom_at=6)  # batches: SO-1..4, SO-5..8 (fails), SO-9..10
    refuse_boom(monkeypatch)

    first = run(api, content)

    assert {k: first[k] for k in ("rows", "imported", "already_imported", "failed")} == {
        "rows": 10,
        "imported": 6,
        "already_imported": 0,
        "failed": 4,
    }
    assert (first["batches"], first["failed_batches"]) == (3, 1)
    assert [e["row"] for e in first["errors"]] == [6, 7, 8, 9]  # SO-5..8 (the header is row 1)
    assert (
        "the batch of rows 6-9 could not be saved (the timeline refused the entry)"
        in (first["errors"][0]["reason"])
    )
    assert orders(api) == ["SO-1", "SO-2", "SO-3", "SO-4", "SO-9", "SO-10"]
    assert api.get("/v1/parcels", params={"order_id": "SO-5"}).json()["items"] == []

    monkeypatch.undo()  # the fault is gone: the same file again
    again = run(api, content)

    assert (again["imported"], again["already_imported"], again["failed"]) == (4, 6, 0)
    assert orders(api) == [f"SO-{i}" for i in range(1, 11)]
    assert run(api, content)["already_imported"] == 10  # and nothing is ever duplicated


def test_each_imported_incident_keeps_its_log_as_a_verified_chain(
    api: ApiClient, settings: Settings
) -> None:
    settings.import_batch_rows = 2

    report = run(api, tracker(3, boom_at=2))

    assert report["imported"] == 3
    for incident in api.get("/v1/incidents").json()["items"]:
        timeline = api.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
        entries = [(e["kind"], e["summary"]) for e in timeline if e["item"] == "entry"]
        assert entries[0] == ("note", f"called the customer about {incident['order_id']}")
        assert len(entries) == (2 if incident["order_id"] == "SO-2" else 1)
        verdict = api.get(f"/v1/incidents/{incident['id']}/timeline/verify").json()
        assert verdict["valid"] is True
    numbers = sorted(i["number"] for i in api.get("/v1/incidents").json()["items"])
    assert numbers == ["INC-000001", "INC-000002", "INC-000003"]


def test_one_tracking_number_for_two_orders_in_one_batch_is_a_row_error(api: ApiClient) -> None:
    content = tracker(1) + tracker(1).split(b"\n", 1)[1].replace(b"SO-1,", b"SO-2,", 1)

    report = run(api, content)

    assert (report["imported"], report["failed"]) == (1, 1)
    [error] = report["errors"]
    assert (error["row"], error["column"]) == (3, "Order ID")
    assert "belongs to order SO-1" in error["reason"]


def test_a_dry_run_counts_what_would_be_imported_and_what_already_is(api: ApiClient) -> None:
    run(api, tracker(3))

    dry = run(api, tracker(5), dry_run=True)

    assert (dry["valid"], dry["already_imported"], dry["imported"]) == (2, 3, 0)
    assert len(orders(api)) == 3


def test_the_answer_stays_small_however_many_rows_fail(api: ApiClient) -> None:
    header = ",".join(TRACKER_COLUMNS)
    bad = "\n".join(f"SO-{i},,,,,,,,,,,," for i in range(MAX_LISTED_ERRORS + 5))
    report = run(api, f"{header}\n{bad}\n".encode(), dry_run=True)

    assert report["failed"] == MAX_LISTED_ERRORS + 5
    assert len(report["errors"]) == MAX_LISTED_ERRORS
    assert report["errors_not_listed"] == 5
    assert report["errors"][0] == {"row": 2, "column": "Tracking Number", "reason": "required"}


def test_the_statements_per_batch_do_not_grow_with_the_rows(
    api: ApiClient, db: Database, settings: Settings
) -> None:
    """Per-row queries made the import quadratic on PostgreSQL; a batch is a fixed handful."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        run(api, tracker(5))
        small = len(statements)
        statements.clear()
        run(api, tracker(60, start=100))
        large = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert large <= small + 3, (small, large)
