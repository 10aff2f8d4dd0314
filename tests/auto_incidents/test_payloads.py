"""Detection writes its events' payloads exactly as ``emit`` would: the same JSON text, byte
for byte, although it builds them from pre-encoded parts (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import select

from app.core.schemas import json_default
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents.models import Incident
from app.incidents.service import incident_event_payload
from app.outbox.events import encoded_view
from app.outbox.models import Event
from app.parcels.models import Parcel
from app.parcels.service import parcel_payload
from app.parcels.views import parcel_view
from tests.factories import ApiClient, FakeClock
from tests.jobs import run_job

AWKWARD_TEXT = [
    "Zoë Ångström",  # Latin beyond ASCII
    "王小明",  # CJK
    "box 📦 outside the BMP",
    'a "quote", a \\ backslash and a / slash',
    "tab\tnewline\ncontrol\x01",
    "DEL\x7fhere",  # json escapes it, pydantic does not
    "line\u2028separator",
]


def _emit_encoding(value: object) -> str:
    """How ``app.outbox.events`` encodes a payload."""
    return json.dumps(value, separators=(",", ":"), default=json_default)


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_a_view_encodes_as_emit_would_encode_it(text: str, clock: FakeClock) -> None:
    parcel = Parcel(
        tenant_id=uuid.uuid4(),
        carrier="sandbox",
        tracking_number="SANDBOX-STALLED-1",
        order_id=text,
        customer_name=text,
        last_scan_description=text,
        last_scan_at=clock.now,
        last_scan_status="in_transit",
        created_at=clock.now,
        updated_at=clock.now,
    )
    view = parcel_view(parcel)

    assert encoded_view(view) == _emit_encoding(view.model_dump(mode="json"))


def test_detection_stores_its_payloads_as_emit_would(
    ops: ApiClient, db: Database, clock: FakeClock
) -> None:
    now = clock.now
    with db.session() as session:
        tenant = ensure_tenant(session, slug="acme").id
        session.commit()
        ids = [uuid.uuid4() for _ in AWKWARD_TEXT]
        session.execute(
            insert(Parcel),
            [
                {
                    "id": parcel_id,
                    "tenant_id": tenant,
                    "carrier": "sandbox",
                    "tracking_number": f"SANDBOX-STALLED-{i}",
                    "order_id": f"SO-{i}",
                    "customer_name": text,
                    "origin_country": "CN",
                    "status": "in_transit",
                    "last_scan_at": now - timedelta(days=14),
                    "last_scan_status": "in_transit",
                    "last_scan_description": text,
                    "last_scan_country": "US",
                    "last_polled_at": now - timedelta(minutes=10),
                    "stuck_check_at": now - timedelta(minutes=1),
                    "created_at": now - timedelta(days=20),
                    "updated_at": now - timedelta(days=20),
                }
                for i, (parcel_id, text) in enumerate(zip(ids, AWKWARD_TEXT, strict=True))
            ],
        )
        session.commit()

    assert run_job(ops, "detect-stuck")["opened"] == len(ids)

    with db.session() as session:
        for event in session.exec(select(Event)):
            # json's own encoding of what the text says: the text is in exactly that form
            assert event.payload == _emit_encoding(json.loads(event.payload))
            parcel = session.get(Parcel, event.parcel_id)
            incident = session.get(Incident, event.incident_id)
            assert parcel is not None
            assert incident is not None
            if event.type == "incident.opened":
                expected = incident_event_payload(incident, parcel, now)
                assert event.payload == _emit_encoding(expected)
            else:
                assert event.type == "parcel.stuck"
                assert json.loads(event.payload)["parcel"] == json.loads(
                    _emit_encoding(parcel_payload(parcel))
                )
