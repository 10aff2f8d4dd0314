"""The pure parts of the tracker sheet: wording, cells, and one row checked for import."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.tracker_sheet import columns as sheet
from app.tracker_sheet.cells import Cells, carrier_code, split_contact, split_location
from app.tracker_sheet.errors import RowError
from app.tracker_sheet.rows import parse_row

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "resolution", "words"),
    [
        ("open", None, "Open"),
        ("in_progress", None, "In Progress"),
        ("awaiting_carrier", None, "Awaiting Carrier"),
        ("resolved", "refunded", "Resolved (Refunded)"),
        ("resolved", "delivered", "Resolved (Delivered)"),
        ("resolved", "partially_refunded", "Resolved (Partially Refunded)"),
    ],
)
def test_resolution_status_wording_reads_back(
    status: str, resolution: str | None, words: str
) -> None:
    assert sheet.resolution_status(status, resolution) == words
    assert sheet.parse_resolution_status(words) == (status, resolution)
    assert sheet.parse_resolution_status(f"  {words.upper()} ") == (status, resolution)


@pytest.mark.parametrize("words", ["Resolved", "Closed", "Done (Refunded)", ""])
def test_a_status_the_tracker_does_not_know_names_nothing(words: str) -> None:
    assert sheet.parse_resolution_status(words) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("maria@example.com; ticket ZD-4411", ("maria@example.com", "ZD-4411")),
        ("maria@example.com / ZD-1", ("maria@example.com", "ZD-1")),
        ("ticket: HS-9", (None, "HS-9")),
        ("maria@example.com", ("maria@example.com", None)),
        ("", (None, None)),
    ],
)
def test_customer_contact_splits_into_email_and_ticket(
    text: str, expected: tuple[str | None, str | None]
) -> None:
    assert split_contact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Held by import customs — Frankfurt, DE", ("Held by import customs", "Frankfurt", "DE")),
        ("Arrived — New York, NY, US", ("Arrived", "New York, NY", "US")),
        ("Departed — Leipzig hub", ("Departed", "Leipzig hub", None)),
        ("In transit", ("In transit", None, None)),
    ],
)
def test_last_tracking_update_splits_into_description_and_place(
    text: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert split_location(text) == expected


@pytest.mark.parametrize(
    ("name", "code"),
    [("UPS", "ups"), ("china post", "china_post"), ("China_Post", "china_post"), ("Hermes", None)],
)
def test_carriers_are_known_by_code_or_display_name(name: str, code: str | None) -> None:
    assert carrier_code(name) == code


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-03-12T09:30:00+01:00", datetime(2026, 3, 12, 8, 30, tzinfo=UTC)),
        ("2026-03-12T09:30:00Z", datetime(2026, 3, 12, 9, 30, tzinfo=UTC)),
        ("2026-03-12 09:30 UTC", datetime(2026, 3, 12, 9, 30, tzinfo=UTC)),
        ("2026-03-12", datetime(2026, 3, 12, tzinfo=UTC)),
        (datetime(2026, 3, 12, 9, 30), datetime(2026, 3, 12, 9, 30, tzinfo=UTC)),  # XLSX cell
        (date(2026, 3, 12), datetime(2026, 3, 12, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_times_carry_an_offset_or_are_utc_cells(cell: object, expected: datetime | None) -> None:
    errors: list[RowError] = []
    assert Cells(2, {"When": cell}, errors).when("When") == expected
    assert errors == []


@pytest.mark.parametrize("cell", ["2026-03-12 09:30", "12/03/2026", "soon", 45000.5])
def test_a_time_without_offset_or_not_a_time_is_an_error(cell: object) -> None:
    errors: list[RowError] = []
    assert Cells(7, {"When": cell}, errors).when("When") is None
    assert [(e.row, e.column) for e in errors] == [(7, "When")]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("+49 30 901820", "+49 30 901820"),
        ("plain text", "plain text"),
    ],
)
def test_formula_like_text_is_defused_for_spreadsheets_and_restored_on_import(
    text: str, kept: str
) -> None:
    assert sheet.defuse_formula(text) == kept
    assert sheet.undo_defuse(kept) == text


def _row(**cells: str) -> dict[str, object]:
    return {"Order ID": "SO-1", "Tracking Number": "1Z999AA10123456784", **cells}


def test_a_minimal_row_detects_the_carrier_and_defaults_the_rest() -> None:
    row, errors = parse_row(2, _row(), now=NOW)

    assert errors == []
    assert row is not None
    assert (row.carrier, row.type, row.source, row.status) == ("ups", "other", "customer", "open")
    assert row.opened_at == NOW
    assert row.values["next_step_action"] is None  # the importer gives the default one
    assert row.key == ("SO-1", "1Z999AA10123456784")


def test_log_lines_in_our_format_become_entries_and_other_lines_notes() -> None:
    log = (
        "2026-03-10 10:00 UTC | anna | carrier_contacted | UPS trace 88\n"
        "called the customer, no answer\n"
        "2026-03-11T08:00+01:00 | | note | from Paris"
    )

    row, errors = parse_row(2, _row(**{"Internal Action Log": log}), now=NOW)

    assert errors == []
    assert row is not None
    assert [(line.at, line.actor, line.kind, line.text) for line in row.log] == [
        (datetime(2026, 3, 10, 10, tzinfo=UTC), "anna", "carrier_contacted", "UPS trace 88"),
        (datetime(2026, 3, 11, 7, tzinfo=UTC), "import", "note", "from Paris"),
    ]
    assert row.notes == ("called the customer, no answer",)


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"Internal Action Log": "2027-01-01 10:00 UTC | a | note | x"}, "Internal Action Log",
         "dated in the future"),
        ({"Last Tracking Update": "Arrived"}, "Last Tracking Update Date", "required with"),
        ({"Last Tracking Update": "Arrived", "Last Tracking Update Date": "2026-03-01",
          "Last Tracking Status": "teleported"}, "Last Tracking Status", "is not one of"),
        ({"Next Step": "Call UPS"}, "Next Step Deadline", "required with"),
        ({"Resolved At": "2026-03-01"}, "Resolved At", "only for a resolved incident"),
        ({"Resolution Status": "Resolved (Delivered)", "Opened At": "2026-03-05",
          "Resolved At": "2026-03-01"}, "Resolved At", "before the incident was opened"),
        ({"Compensation Amount": "12"}, "Compensation Kind", "Field required"),
        ({"Compensation Kind": "refund", "Compensation Amount": "12"}, "Compensation Currency",
         "required when amount is given"),
        ({"Compensation Kind": "refund", "Compensation Amount": "ten"}, "Compensation Amount",
         "is not a number"),
        ({"Root Cause": "gremlins"}, "Root Cause", "is not one of"),
        ({"Incident Type": "stolen"}, "Incident Type", "is not one of"),
        ({"Substantiated": "maybe"}, "Substantiated", "is not Yes or No"),
        ({"Destination Country": "XX"}, "Destination Country", "ISO 3166"),
        ({"Customer Phone": "+49 12"}, "Customer Phone", "not a valid phone number"),
        ({"Customer Contact": "not-an-email@"}, None, None),
        ({"Opened At": "2027-01-01T00:00:00Z"}, "Opened At", "in the future"),
        ({"Description": "a\x00b"}, "Description", "NUL"),
    ],
)  # fmt: skip
def test_each_problem_names_its_column(
    cells: dict[str, str], column: str | None, reason: str | None
) -> None:
    row, errors = parse_row(5, _row(**cells), now=NOW)

    if column is None:  # text that is no e-mail is kept as the ticket reference
        assert errors == []
        return
    assert row is None
    assert [e.column for e in errors] == [column], errors
    assert errors[0].row == 5
    assert reason is not None
    assert reason in errors[0].reason
