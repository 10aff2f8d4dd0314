"""POST /v1/incidents/import: dry run, real run, round trips and files that are not trackers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from app.db.engine import Database
from app.tracker_sheet.columns import COLUMNS
from tests.factories import UPS_NUMBERS, ApiClient, FakeClock, new_api_key, register_parcel
from tests.tracker_sheet.fixtures import read_csv, seed_tracker

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OURS_ALONE = {"Incident Number", "Incident ID", "Updated At"}


def upload(api: ApiClient, content: bytes, *, dry_run: bool = True, **kw: Any) -> Any:
    params = {} if dry_run else {"dry_run": "false"}
    if "files" in kw:
        return api.post("/v1/incidents/import", params=params, **kw)
    return api.post(
        "/v1/incidents/import",
        params=params,
        content=content,
        headers={"Content-Type": kw.get("content_type", "text/csv")},
    )


def comparable(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["Order ID"]: {k: v for k, v in r.items() if k not in OURS_ALONE} for r in rows}


def sheet(*rows: dict[str, str], header: list[str] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header or list(COLUMNS[:13]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def incidents_of(api: ApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/v1/incidents").json()["items"]
    return items


def test_csv_round_trip_reproduces_the_incidents_and_a_second_run_imports_nothing(
    api: ApiClient, other_api: ApiClient, db: Database, clock: FakeClock
) -> None:
    seed_tracker(api, db, clock)
    exported = api.get("/v1/incidents/export").content

    dry = upload(other_api, exported)
    assert dry.status_code == 200, dry.text
    assert {k: dry.json()[k] for k in ("dry_run", "file_type", "rows", "valid", "failed")} == {
        "dry_run": True,
        "file_type": "csv",
        "rows": 3,
        "valid": 3,
        "failed": 0,
    }
    assert dry.json()["errors"] == []
    assert incidents_of(other_api) == []  # a dry run writes nothing

    real = upload(other_api, exported, dry_run=False)
    again = upload(other_api, exported, dry_run=False)

    assert real.status_code == 200, real.text
    assert (real.json()["imported"], real.json()["failed"]) == (3, 0)
    assert (again.json()["imported"], again.json()["already_imported"]) == (0, 3)
    assert len(incidents_of(other_api)) == 3
    reimported = read_csv(other_api.get("/v1/incidents/export").content)
    assert comparable(reimported) == comparable(read_csv(exported))
    for incident in incidents_of(other_api):
        verdict = other_api.get(f"/v1/incidents/{incident['id']}/timeline/verify").json()
        assert verdict["valid"] is True


def test_xlsx_round_trip_through_a_multipart_upload(
    api: ApiClient, other_api: ApiClient, db: Database, clock: FakeClock
) -> None:
    seed_tracker(api, db, clock)
    workbook = api.get("/v1/incidents/export?format=xlsx").content

    real = upload(other_api, b"", dry_run=False, files={"file": ("tracker.xlsx", workbook, XLSX)})

    assert real.status_code == 200, real.text
    assert (real.json()["file_type"], real.json()["imported"]) == ("xlsx", 3)
    ours = read_csv(api.get("/v1/incidents/export").content)
    theirs = read_csv(other_api.get("/v1/incidents/export").content)
    assert comparable(theirs) == comparable(ours)


GOOD = {
    "Order ID": "SO-1",
    "Order Date": "2026-03-01",
    "Customer Contact": "maria@example.com; ticket ZD-1",
    "Carrier": "UPS",
    "Tracking Number": UPS_NUMBERS[0],
    "Customer Reported Date": "2026-03-10T10:00:00+01:00",
    "Resolution Status": "In Progress",
}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"  \r\n ", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00", "a binary file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls workbook"),
        (b"PK\x03\x04 this zip was cut short", "damaged"),
        ("Order ID,Tracking Number\nSO-1,café".encode("latin-1"), "not UTF-8"),
        (b"Name,E-mail,Parcel\nMaria,maria@example.com,1Z", "required column 'Order ID'"),
    ],
)
def test_files_that_are_not_trackers_are_refused_whole(
    other_api: ApiClient, content: bytes, reason: str
) -> None:
    response = upload(other_api, content, dry_run=False)

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"].endswith(":validation")
    assert reason in body["detail"]
    assert all(e["field"] == "file" for e in body["errors"])
    assert incidents_of(other_api) == []


def test_wrong_headers_name_every_missing_column_at_row_one(other_api: ApiClient) -> None:
    response = upload(other_api, b"Order,Tracking\nSO-1,1Z999")

    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(1, "Order ID"), (1, "Tracking Number")]


def test_bad_rows_are_reported_by_row_and_column_and_only_good_rows_import(
    other_api: ApiClient,
) -> None:
    content = sheet(
        GOOD,
        {**GOOD, "Order ID": "SO-3", "Order Date": "31/02/2026"},
        {**GOOD, "Order ID": "SO-4", "Carrier": "Hermes"},
        {**GOOD},  # the same order and tracking number as row 2
        {**GOOD, "Order ID": "SO-6", "Resolution Status": "Resolved"},
        {**GOOD, "Order ID": "SO-7", "Customer Reported Date": "2026-03-10 10:00"},
        {**GOOD, "Order ID": "SO-8", "Tracking Number": ""},
        {
            **GOOD,
            "Order ID": "SO-9",
            "Tracking Number": UPS_NUMBERS[1],
            "Resolution Status": "Resolved (Refunded)",
            "Next Step": "Never mind",
        },
    )

    dry = upload(other_api, content)
    real = upload(other_api, content, dry_run=False)

    for response in (dry, real):
        assert response.status_code == 200, response.text
        errors = [(e["row"], e["column"]) for e in response.json()["errors"]]
        assert errors == [
            (3, "Order Date"),
            (4, "Carrier"),
            (5, "Tracking Number"),
            (6, "Resolution Status"),
            (7, "Customer Reported Date"),
            (8, "Tracking Number"),
        ]
    reasons = {e["row"]: e["reason"] for e in dry.json()["errors"]}
    assert "'31/02/2026' is not a date" in reasons[3]
    assert "unknown carrier 'Hermes'" in reasons[4]
    assert reasons[5] == "duplicate of row 2 (same Order ID and Tracking Number)"
    assert "Resolved (Refunded)" in reasons[6]
    assert "no offset" in reasons[7]
    assert reasons[8] == "required"
    assert (dry.json()["valid"], dry.json()["failed"]) == (2, 6)
    assert (real.json()["imported"], real.json()["failed"]) == (2, 6)
    imported = {i["order_id"]: i for i in incidents_of(other_api)}
    assert set(imported) == {"SO-1", "SO-9"}
    assert imported["SO-1"]["status"] == "in_progress"
    assert imported["SO-1"]["customer_reported_at"] == "2026-03-10T09:00:00Z"
    assert imported["SO-1"]["customer"]["ticket_ref"] == "ZD-1"
    assert imported["SO-1"]["next_step"]["action"].startswith("Acknowledge the customer")
    assert (imported["SO-9"]["status"], imported["SO-9"]["resolution"]) == ("resolved", "refunded")
    assert imported["SO-9"]["next_step"] is None


def test_a_tracking_number_of_another_order_is_a_row_error(other_api: ApiClient) -> None:
    register_parcel(other_api, order_id="SO-ELSEWHERE")

    response = upload(other_api, sheet(GOOD), dry_run=False)

    [error] = response.json()["errors"]
    assert (error["row"], error["column"]) == (2, "Order ID")
    assert "belongs to order SO-ELSEWHERE" in error["reason"]


def test_a_sellers_own_sheet_with_other_spellings_and_extra_columns(
    other_api: ApiClient,
) -> None:
    content = (
        "order id;CUSTOMER CONTACT (email, ticket);carrier;Tracking  Number;Internal Action Log;"
        "Resolution Status;Notes\n"
        f'SO-1;maria@example.com / ZD-1;ups;{UPS_NUMBERS[0]};"called UPS on monday\n'
        '2026-03-10 10:00 UTC | anna | carrier_contacted | UPS trace opened";Open;call back\n'
    ).encode()

    response = upload(other_api, content, dry_run=False)

    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 1
    assert response.json()["ignored_columns"] == ["Notes"]
    [incident] = incidents_of(other_api)
    assert incident["customer"]["email"] == "maria@example.com"
    assert incident["customer"]["ticket_ref"] == "ZD-1"
    timeline = other_api.get(f"/v1/incidents/{incident['id']}/timeline").json()["items"]
    entries = [(i["kind"], i["summary"]) for i in timeline if i["item"] == "entry"]
    assert ("carrier_contacted", "UPS trace opened") in entries
    assert ("note", "called UPS on monday") in entries


def test_importing_needs_the_incidents_write_scope(other_api: ApiClient, db: Database) -> None:
    reader = ApiClient(other_api.client, new_api_key(db, tenant="globex", scopes=("read",)))

    response = upload(reader, sheet(GOOD))

    assert response.status_code == 403
