"""The routes that take files keep their own caps, and those hold while the file streams: an
oversized upload is refused after about its cap's worth of bytes, not after all of them."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.db.engine import Database
from app.main import IMPORT_FORM_OVERHEAD, create_app
from app.tracker_sheet.reader import MAX_IMPORT_BYTES
from tests.api.streaming import MIB, send_streamed, zeros
from tests.factories import ApiClient, FakeClock, new_api_key
from tests.workflow.helpers import new_incident, url

BOUNDARY = "rt-gate-boundary"
CHUNK = 64 * 1024


def multipart(name: str, filename: str, size: int) -> Iterator[bytes]:
    """A form with one file part of ``size`` bytes, streamed."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    yield from zeros(size, chunk=CHUNK)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_a_raw_import_over_20_mb_is_refused_while_it_streams(
    client: TestClient, db: Database
) -> None:
    key = new_api_key(db, tenant="acme")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}

    answer = send_streamed(
        client, "POST", "/v1/incidents/import", zeros(40 * MIB, chunk=CHUNK), headers=headers
    )

    assert answer.status == 413
    assert answer.pulled <= MAX_IMPORT_BYTES + IMPORT_FORM_OVERHEAD + CHUNK  # not the 40 MB


def test_a_form_import_over_20_mb_is_refused_while_it_streams(
    client: TestClient, db: Database
) -> None:
    key = new_api_key(db, tenant="acme")
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }

    answer = send_streamed(
        client,
        "POST",
        "/v1/incidents/import",
        multipart("file", "tracker.csv", 40 * MIB),
        headers=headers,
    )

    assert answer.status == 413
    assert answer.pulled <= MAX_IMPORT_BYTES + IMPORT_FORM_OVERHEAD + CHUNK


def test_an_import_over_the_json_limit_but_under_its_own_cap_is_read(
    client: TestClient, db: Database
) -> None:
    key = new_api_key(db, tenant="acme")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}
    size = 3 * MIB  # over RT_MAX_BODY_BYTES (1 MiB)

    answer = send_streamed(
        client, "POST", "/v1/incidents/import", zeros(size, chunk=CHUNK), headers=headers
    )

    assert answer.pulled == size
    assert answer.status == 422  # read whole, then judged: not a tracker sheet
    assert answer.json()["errors"][0]["field"] == "file"


def test_an_evidence_upload_over_its_cap_is_refused_while_it_streams(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    capped = settings.model_copy(update={"evidence_max_bytes": 4096})
    with TestClient(create_app(capped, database=db, clock=clock)) as client:
        key = new_api_key(db, tenant="acme")
        incident = new_incident(ApiClient(client, key))
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        }

        answer = send_streamed(
            client,
            "POST",
            url(incident, "/evidence"),
            multipart("file", "big.jpg", 30 * MIB),
            headers=headers,
        )

    assert answer.status == 413
    assert answer.pulled < MIB  # about the cap's worth of the 30 MB
    assert answer.json()["max_bytes"] == 4096
