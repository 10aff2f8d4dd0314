"""The dispute evidence pack: what the PDF and the ZIP hold, and that an altered record shows."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from pypdf import PdfReader
from sqlalchemy import text

from app.db.engine import Database
from tests.factories import ApiClient, FakeClock
from tests.workflow.helpers import jpeg, new_incident, ready_for_proposal, step, url

SCANS = [
    ("accepted", "2026-03-02T10:05:00+08:00", "快件已由【深圳福田营业部】揽收", "Shenzhen", "CN"),
    ("in_transit", "2026-03-04T22:40:00+08:00", "Departed from facility", "Hong Kong", "HK"),
    ("customs_hold", "2026-03-08T11:00:00+01:00", "Held by import customs", "Frankfurt", "DE"),
]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def squashed(value: str) -> str:
    return "".join(value.split())


def build_case(api: ApiClient, clock: FakeClock) -> dict[str, Any]:
    """A damaged parcel taken from complaint to partial refund, as an agent would."""
    incident = new_incident(
        api, customer={"name": "Ελένη Παπαδοπούλου", "email": "eleni@example.gr", "locale": "en"}
    )
    api.post(
        f"/v1/parcels/{incident['parcel_id']}/scans",
        json={
            "scans": [
                {
                    "status": status,
                    "occurred_at": at,
                    "description": description,
                    "location": {"city": city, "country": country},
                }
                for status, at, description, city, country in SCANS
            ]
        },
    )
    clock.advance(minutes=5)
    api.post(
        url(incident, "/messages"),
        json={"channel": "email", "direction": "in", "text": "The vase arrived in pieces."},
    )
    clock.advance(minutes=5)
    photo = api.post(
        url(incident, "/evidence"), files={"file": ("vase.jpg", jpeg())}, data={"kind": "photo"}
    ).json()
    clock.advance(minutes=5)
    ready_for_proposal(api, incident)
    step(
        api,
        incident,
        "proposal",
        {
            "solution": "Partial refund of 20 EUR",
            "compensation": {"kind": "partial_refund", "amount": "20", "currency": "EUR"},
        },
    )
    clock.advance(minutes=5)
    message = api.post(
        url(incident, "/messages"),
        json={
            "channel": "email",
            "template_key": "refund_confirmed",
            "params": {"method": "PayPal"},
        },
    ).json()
    claim = api.post(
        url(incident, "/claims"),
        json={
            "claim_type": "damaged",
            "amount": "59.90",
            "currency": "EUR",
            "evidence_ids": [photo["id"]],
        },
    ).json()
    api.post(
        url(incident, f"/claims/{claim['id']}/transitions"),
        json={"to": "filed", "carrier_reference": "UPS-CLM-5521"},
    )
    clock.advance(minutes=5)
    step(
        api,
        incident,
        "execution",
        {
            "resolution": "partially_refunded",
            "summary": "Refunded 20 EUR via PayPal",
            "message_id": message["id"],
        },
    )
    return {"incident": incident, "photo": photo, "message": message}


def test_the_pdf_holds_everything_a_dispute_reviewer_needs(
    api: ApiClient, clock: FakeClock
) -> None:
    case = build_case(api, clock)
    incident = case["incident"]

    response = api.get(url(incident, "/evidence-pack"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="evidence-pack-INC-000001.pdf"' in response.headers["content-disposition"]
    content = pdf_text(response.content)
    flat = squashed(content)
    entries = api.get(url(incident, "/timeline/verify")).json()
    for expected in (
        "Evidence pack INC-000001",
        "SO-10023",
        "Ελένη Παπαδοπούλου",
        "eleni@example.gr",
        "1Z999AA10123456784",
        "UPS (ups)",
        "快件已由【深圳福田营业部】揽收",  # a Chinese scan, set in the fallback font
        "Departed from facility",
        "Held by import customs",
        f"Timeline verified: all {entries['entries']} entries intact",
        "The vase arrived in pieces.",
        case["message"]["subject"],
        "vase.jpg",
        "UPS-CLM-5521",
        "partially_refunded",
        "Partial refund of 20 EUR",
        "Logistics",
        "packaging",
    ):
        assert squashed(expected) in flat, expected
    assert case["photo"]["sha256"] in flat
    assert entries["head_hash"] in flat
    assert "Refunded 20 EUR via PayPal" in content


def test_the_zip_holds_the_pdf_the_files_and_a_json_export(
    api: ApiClient, clock: FakeClock
) -> None:
    case = build_case(api, clock)

    response = api.get(url(case["incident"], "/evidence-pack"), params={"format": "zip"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    photo = case["photo"]
    stem = "evidence-pack-INC-000001"
    photo_name = f"{stem}/evidence/{photo['sha256'][:12]}-vase.jpg"
    assert sorted(archive.namelist()) == sorted(
        [f"{stem}/{stem}.pdf", f"{stem}/incident.json", photo_name]
    )
    assert hashlib.sha256(archive.read(photo_name)).hexdigest() == photo["sha256"]
    assert archive.read(f"{stem}/{stem}.pdf").startswith(b"%PDF-")
    export = json.loads(archive.read(f"{stem}/incident.json"))
    assert export["timeline_verification"]["valid"] is True
    assert export["incident"]["resolution"] == "partially_refunded"
    assert [s["description"] for s in export["scans"]] == [s[2] for s in SCANS]
    assert [m["direction"] for m in export["messages"]] == ["in", "out"]
    assert export["evidence"][0]["path_in_zip"] == photo_name.split("/", 1)[1]
    assert export["claims"][0]["carrier_reference"] == "UPS-CLM-5521"
    assert export["compensation_proposals"][0]["status"] == "not_required"
    assert len(export["timeline"]) == export["timeline_verification"]["entries"]


def test_a_pack_from_an_altered_record_says_so(api: ApiClient, db: Database) -> None:
    incident = new_incident(api)
    api.post(url(incident, "/actions"), json={"kind": "note", "text": "Customer phoned"})
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE timeline_entries SET summary = 'Refund promised' WHERE seq = 2"))

    content = squashed(pdf_text(api.get(url(incident, "/evidence-pack")).content))

    assert squashed("Timeline NOT intact: entry 2 fails (entry content altered)") in content
    assert squashed("Timeline verified") not in content
