"""Evidence uploads: typed by content, capped while streaming, stored under our own names."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.db.engine import Database
from app.evidence.service import UploadSink, UploadTooLarge, display_name
from app.main import create_app
from tests.factories import ApiClient, FakeClock, new_api_key
from tests.workflow.helpers import entry_kinds, jpeg, new_incident, pdf_receipt, png, url


def stored_files(settings: Settings) -> list[Path]:
    root = settings.evidence_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_photo_is_stored_under_our_name_with_its_hash(api: ApiClient, settings: Settings) -> None:
    incident = new_incident(api)
    photo = jpeg()

    response = api.post(
        url(incident, "/evidence"),
        files={"file": ("../../../etc/cron.d/crushed box.jpg", photo, "text/plain")},
        data={"kind": "packaging", "description": "Outer box, as delivered"},
    )

    assert response.status_code == 201, response.text
    item = response.json()
    assert item["sha256"] == hashlib.sha256(photo).hexdigest()
    assert (item["content_type"], item["size_bytes"]) == ("image/jpeg", len(photo))
    assert item["file_name"] == "crushed box.jpg"  # for display; never a path
    assert (item["kind"], item["uploaded_by"]["name"]) == ("packaging", "agent-anna")
    assert item["uploaded_by"]["type"] == "api_key"
    assert response.headers["location"] == url(incident, f"/evidence/{item['id']}")
    [path] = stored_files(settings)
    assert (
        path
        == settings.evidence_dir / f"{path.parent.parent.name}/{incident['id']}/{item['id']}.jpg"
    )
    download = api.get(item["download_url"])
    assert download.content == photo
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    listed = api.get(url(incident, "/evidence")).json()["items"]
    assert [e["id"] for e in listed] == [item["id"]]
    entry = api.get(url(incident, "/timeline")).json()["items"][-1]
    assert entry["kind"] == "evidence_added"
    assert entry["data"]["sha256"] == item["sha256"]


def test_the_type_comes_from_the_content_not_the_name(api: ApiClient, settings: Settings) -> None:
    incident = new_incident(api)
    evidence = url(incident, "/evidence")

    receipt = api.post(evidence, files={"file": ("photo.jpg", pdf_receipt(), "image/jpeg")})
    screenshot = api.post(evidence, files={"file": ("scan.pdf", png(), "application/pdf")})
    html = api.post(
        evidence,
        files={"file": ("photo.jpg", b"<html><script>steal()</script></html>" * 300, "image/jpeg")},
    )
    exe = api.post(
        evidence, files={"file": ("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 9000, "application/pdf")}
    )
    text = api.post(evidence, files={"file": ("notes.png", b"just words", "image/png")})

    assert receipt.status_code == 201
    assert receipt.json()["content_type"] == "application/pdf"
    assert screenshot.json()["content_type"] == "image/png"
    for refused in (html, exe, text):
        assert refused.status_code == 415
        assert refused.json()["errors"][0]["field"] == "file"
    assert len(stored_files(settings)) == 2  # nothing left over from the refused uploads
    assert len(api.get(evidence).json()["items"]) == 2


@pytest.fixture
def small_cap(db: Database, clock: FakeClock, settings: Settings) -> Iterator[ApiClient]:
    capped = settings.model_copy(update={"evidence_max_bytes": 4096})
    with TestClient(create_app(capped, database=db, clock=clock)) as client:
        yield ApiClient(client, new_api_key(db, tenant="acme", name="agent-anna"))


def test_an_oversized_upload_is_refused_whether_or_not_it_says_its_size(
    small_cap: ApiClient, settings: Settings
) -> None:
    incident = new_incident(small_cap)
    big = jpeg((900, 900))  # noise-free but still well over 4 KB
    assert len(big) > 4096
    boundary = "rt-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunked() -> Iterator[bytes]:  # no Content-Length: the cap must bite while reading
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    declared = small_cap.post(url(incident, "/evidence"), files={"file": ("big.jpg", big)})
    streamed = small_cap.post(
        url(incident, "/evidence"),
        content=chunked(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    small = small_cap.post(url(incident, "/evidence"), files={"file": ("ok.jpg", jpeg())})

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert streamed.json()["max_bytes"] == 4096
    assert small.status_code == 201
    assert [p.suffix for p in stored_files(settings)] == [".jpg"]


def test_the_sink_stops_at_the_cap_and_leaves_nothing(tmp_path: Path) -> None:
    sink = UploadSink(tmp_path, max_bytes=10_000)
    head = jpeg()
    sink.write(head)
    accepted = [len(head)]

    def keep_sending() -> None:
        while True:
            sink.write(b"\x00" * 1000)
            accepted.append(1000)

    with pytest.raises(UploadTooLarge):
        keep_sending()

    assert sum(accepted) <= 10_000  # refused on the chunk that crossed the cap
    assert list((tmp_path / ".incoming").iterdir()) == []


def test_an_upload_needs_a_file_and_a_known_kind(api: ApiClient) -> None:
    incident = new_incident(api)
    evidence = url(incident, "/evidence")

    no_file = api.post(evidence, data={"kind": "photo"}, files={"other": ("x.jpg", jpeg())})
    bad_kind = api.post(evidence, data={"kind": "selfie"}, files={"file": ("x.jpg", jpeg())})
    not_multipart = api.post(evidence, json={"file": "aGVsbG8="})

    assert no_file.status_code == 422
    assert no_file.json()["errors"][0]["field"] == "file"
    assert bad_kind.status_code == 422
    assert bad_kind.json()["errors"][0]["field"] == "kind"
    assert not_multipart.status_code == 422
    assert api.get(evidence).json()["items"] == []


def test_evidence_can_be_deleted_until_the_incident_is_resolved(
    api: ApiClient, settings: Settings
) -> None:
    incident = new_incident(api)
    evidence = url(incident, "/evidence")
    first = api.post(evidence, files={"file": ("a.jpg", jpeg())}).json()
    second = api.post(evidence, files={"file": ("b.png", png())}).json()

    deleted = api.delete(f"{evidence}/{first['id']}")
    api.post(url(incident, "/transitions"), json={"to": "resolved", "resolution": "delivered"})
    refused = api.delete(f"{evidence}/{second['id']}")

    assert deleted.status_code == 204
    assert api.get(f"{evidence}/{first['id']}").status_code == 404
    assert refused.status_code == 409
    assert [p.suffix for p in stored_files(settings)] == [".png"]
    assert api.get(second["download_url"]).content == png()
    assert "evidence_deleted" in entry_kinds(api, incident)


def test_another_tenants_evidence_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    incident = new_incident(api)
    item = api.post(url(incident, "/evidence"), files={"file": ("a.jpg", jpeg())}).json()
    one = url(incident, f"/evidence/{item['id']}")

    assert other_api.get(url(incident, "/evidence")).status_code == 404
    assert other_api.get(one).status_code == 404
    assert other_api.get(f"{one}/content").status_code == 404
    assert other_api.delete(one).status_code == 404
    upload = other_api.post(url(incident, "/evidence"), files={"file": ("b.jpg", jpeg())})
    assert upload.status_code == 404
    assert other_api.get(url(incident, "/evidence-pack")).status_code == 404
    assert len(api.get(url(incident, "/evidence")).json()["items"]) == 1


@pytest.mark.parametrize(
    "control",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_display_names_lose_bidirectional_controls(control: str) -> None:
    """A reviewer must see the name as it is: "invoice<RLO>gpj.pdf" would read "invoicefdp.jpg"."""
    assert display_name(f"invoice{control}gpj.pdf", "application/pdf") == "invoicegpj.pdf"
