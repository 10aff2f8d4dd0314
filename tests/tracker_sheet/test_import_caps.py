"""The import's caps are checked before any row is read: rows, and for an XLSX what its ZIP
directory says it unpacks to. The bombs are written a chunk at a time, never held whole."""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook

from app.core.settings import Settings
from app.tracker_sheet.errors import FileTooLarge, ImportLimits
from app.tracker_sheet.reader import read_table
from tests.factories import UPS_NUMBERS, ApiClient

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MB = 1024 * 1024


def post(api: ApiClient, content: bytes, content_type: str = XLSX) -> Any:
    return api.post(
        "/v1/incidents/import",
        params={"dry_run": "false"},
        content=content,
        headers={"Content-Type": content_type},
    )


def workbook(*rows: list[str]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tracker"
    sheet.append(["Order ID", "Tracking Number", "Carrier"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="Tracker" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
    "xl/worksheets/sheet1.xml": (
        f'<worksheet xmlns="{_MAIN}"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>'
        "</sheetData></worksheet>"
    ),
}


def shared_strings_bomb(megabytes: int, *, padding: int = 0) -> bytes:
    """A tracker whose row 2 holds an order id of ``megabytes`` MB, in the shared strings,
    written a chunk at a time (building it costs a 1 MB buffer, not the whole member); and
    ``padding`` MB of zeros in a member nothing reads."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w") as member:
            member.write(
                f'<sst xmlns="{_MAIN}"><si><t>Order ID</t></si><si><t>Tracking Number</t>'
                "</si><si><t>".encode()
            )
            for _ in range(megabytes):
                member.write(b"A" * MB)
            member.write(f"</t></si><si><t>{UPS_NUMBERS[0]}</t></si></sst>".encode())
        if padding:
            with archive.open("xl/media/padding.bin", "w") as member:
                for _ in range(padding):
                    member.write(bytes(MB))
    return out.getvalue()


def test_a_workbook_whose_shared_strings_unpack_to_25_mb_is_refused_before_parsing(
    api: ApiClient,
) -> None:
    bomb = shared_strings_bomb(25)
    assert len(bomb) < 200 * 1024  # a small upload

    response = post(api, bomb)

    assert response.status_code == 413, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert body["setting"] == "RT_IMPORT_MAX_SHARED_STRINGS_BYTES"
    assert body["limit"] == 20 * MB
    assert "shared strings unpack to 26.2 MB" in body["detail"]
    assert body["errors"][0]["field"] == "file"


def test_a_workbook_that_unpacks_past_the_total_cap_is_refused(api: ApiClient) -> None:
    bomb = shared_strings_bomb(1, padding=60)

    response = post(api, bomb)

    assert response.status_code == 413, response.text
    assert response.json()["setting"] == "RT_IMPORT_MAX_UNPACKED_BYTES"
    assert "unpacks to 64.0 MB" in response.json()["detail"]


def test_the_caps_are_settings_and_a_workbook_under_them_is_read(
    api: ApiClient, settings: Settings
) -> None:
    settings.import_max_shared_strings_bytes = 3 * MB

    response = post(api, shared_strings_bomb(2))

    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]  # read whole: the order id is too long for the row
    assert (error["row"], error["column"]) == (2, "Order ID")


def _lie_about(content: bytes, name: str, size: int) -> bytes:
    """Rewrite the member's uncompressed size in its local header and the central directory."""
    data = bytearray(content)
    encoded = name.encode()
    at = data.find(b"PK\x03\x04")
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 26)[0]
        if data[at + 30 : at + 30 + name_len] == encoded:
            struct.pack_into("<I", data, at + 22, size)
        at = data.find(b"PK\x03\x04", at + 4)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == encoded:
            struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def test_a_member_that_lies_about_its_size_is_read_no_further_than_it_declared(
    api: ApiClient,
) -> None:
    liar = _lie_about(shared_strings_bomb(3), "xl/sharedStrings.xml", 1000)
    with zipfile.ZipFile(io.BytesIO(liar)) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size == 1000

    response = post(api, liar)

    assert response.status_code == 422, response.text
    assert "damaged" in response.json()["detail"]


def test_the_row_cap_refuses_a_csv_before_any_row_is_imported(
    api: ApiClient, settings: Settings
) -> None:
    settings.import_max_rows = 2
    rows = "".join(f"SO-{i},{UPS_NUMBERS[i % 2]},UPS\n" for i in range(3))

    response = post(api, f"Order ID,Tracking Number,Carrier\n{rows}\n\n".encode(), "text/csv")

    assert response.status_code == 413, response.text
    assert response.json()["setting"] == "RT_IMPORT_MAX_ROWS"
    assert "the file has 3 rows, more than the 2" in response.json()["detail"]
    assert api.get("/v1/incidents").json()["items"] == []


def test_the_row_cap_counts_an_xlsx_from_its_sheet_before_reading_rows(
    api: ApiClient, settings: Settings
) -> None:
    settings.import_max_rows = 2
    content = workbook(*([f"SO-{i}", UPS_NUMBERS[i % 2], "UPS"] for i in range(3)))

    response = post(api, content)

    assert response.status_code == 413, response.text
    assert response.json()["setting"] == "RT_IMPORT_MAX_ROWS"
    assert api.get("/v1/incidents").json()["items"] == []


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_at_the_cap_is_read(kind: str) -> None:
    rows = [[f"SO-{i}", UPS_NUMBERS[i % 2], "UPS"] for i in range(3)]
    content = (
        workbook(*rows)
        if kind == "xlsx"
        else ("Order ID,Tracking Number\n" + "".join(f"{r[0]},{r[1]}\n" for r in rows)).encode()
    )

    table = read_table(content, ImportLimits(max_rows=3))

    assert len(list(table.rows)) == 3
    with pytest.raises(FileTooLarge):
        read_table(content, ImportLimits(max_rows=2))
