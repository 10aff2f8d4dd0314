"""A tick opens its batch's incidents in bulk: numbers, timeline entries and events are what
opening them one by one gives (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.auto_incidents import job as detect
from app.core.models import Tenant
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents.models import Incident
from app.incidents.service import incident_event_payload
from app.incidents.timeline import GENESIS, decode_data, entries_for, verify_chain
from app.outbox.models import Event
from app.parcels.models import Parcel
from app.parcels.service import parcel_payload
from app.webhooks.models import WebhookDelivery
from tests.factories import ApiClient, FakeClock, open_incident
from tests.jobs import run_job
from tests.webhooks.helpers import add_endpoint

HOOK = "https://127.0.0.1/hook"


def _parcels(db: Database, tenant: uuid.UUID, now: datetime, kinds: list[str]) -> list[uuid.UUID]:
    """Parcels detection must look at now: ``quiet`` (two weeks without a scan), ``lost``
    (two months), ``returned`` (going back to the sender)."""
    quiet_since = {"quiet": timedelta(days=14), "lost": timedelta(days=60)}
    ids = [uuid.uuid4() for _ in kinds]
    rows = [
        {
            "id": parcel_id,
            "tenant_id": tenant,
            "carrier": "sandbox",
            "tracking_number": f"SANDBOX-STALLED-{parcel_id.hex[:10]}",
            "order_id": f"SO-{i}",
            "origin_country": "CN",
            "destination_country": "US",
            "status": "returned_to_sender" if kind == "returned" else "in_transit",
            "last_scan_at": now - quiet_since.get(kind, timedelta(days=1)),
            "last_scan_status": "returned_to_sender" if kind == "returned" else "in_transit",
            "last_scan_description": "Refused at the door" if kind == "returned" else "Departed",
            "last_scan_country": "US",
            "last_polled_at": now - timedelta(minutes=10),
            "stuck_check_at": now - timedelta(minutes=1),
            "created_at": now - timedelta(days=70),
            "updated_at": now - timedelta(days=70),
        }
        for i, (parcel_id, kind) in enumerate(zip(ids, kinds, strict=True))
    ]
    with db.session() as session:
        session.execute(insert(Parcel), rows)
        session.commit()
    return ids


def _tenant(db: Database, slug: str) -> uuid.UUID:
    with db.session() as session:
        tenant_id = ensure_tenant(session, slug=slug).id
        session.commit()
    return tenant_id


def _events_of(session: Session, incident_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    rows = session.exec(select(Event).where(Event.incident_id == incident_id)).all()
    by_type = {e.type: json.loads(e.payload) for e in rows}
    assert len(by_type) == len(rows), "one event of each type per incident"
    return by_type


def _as_json(value: object) -> Any:
    return json.loads(json.dumps(value, default=str))


def test_a_bulk_opened_batch_numbers_chains_and_announces_every_incident_as_one_by_one(
    ops: ApiClient,
    db: Database,
    clock: FakeClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detect, "BATCH", 5)  # three batches: numbering carries across them
    now = clock.now
    acme, globex = _tenant(db, "acme"), _tenant(db, "globex")
    acme_parcels = _parcels(db, acme, now, ["quiet"] * 6 + ["returned", "lost", "quiet"])
    globex_parcels = _parcels(db, globex, now, ["quiet"] * 4)
    owned = acme_parcels[-1]
    customer = open_incident(ops, str(owned))  # number 1 of acme, before detection
    assert customer.status_code == 201, customer.text
    endpoint, _secret = add_endpoint(
        db, tenant=acme, url=HOOK, server_key=settings.resolved_secret_key(), now=now
    )

    counts = run_job(ops, "detect-stuck")

    assert (counts["opened"], counts["annotated"], counts["checked"]) == (12, 1, 13)
    with db.session() as session:
        incidents = session.exec(
            select(Incident).where(Incident.source == "auto").order_by(col(Incident.number))
        ).all()
        numbers: dict[uuid.UUID, list[int]] = {}
        for incident in incidents:
            numbers.setdefault(incident.tenant_id, []).append(incident.number)
        # gap-free and unique per tenant, after the customer's number 1 at acme
        assert numbers == {acme: list(range(2, 10)), globex: list(range(1, 5))}
        seqs = {t.id: t.incident_seq for t in session.exec(select(Tenant))}
        assert (seqs[acme], seqs[globex]) == (9, 4)
        assert {i.parcel_id for i in incidents} == set(acme_parcels[:-1] + globex_parcels)
        assert Counter(i.type for i in incidents) == Counter(delay=10, returned=1, lost=1)

        for incident in incidents:
            parcel = session.get(Parcel, incident.parcel_id)
            assert parcel is not None
            entries = entries_for(session, incident.id)
            assert verify_chain(entries).valid
            opened = entries[0]
            assert (opened.kind, opened.seq, opened.prev_hash) == ("opened", 1, GENESIS)
            data = decode_data(opened)
            assert (data["type"], data["source"]) == (incident.type, "auto")
            rule = data["detection"]["rule"]
            assert opened.summary.startswith(f"{incident.type} incident opened automatically: ")
            assert f"{rule} fired; next step: " in opened.summary
            events = _events_of(session, incident.id)
            if incident.type == "lost":  # escalated at once, after it was announced
                assert set(events) == {"parcel.stuck", "incident.opened", "incident.escalated"}
                assert [e.kind for e in entries] == ["opened", "status_changed", "next_step_set"]
                assert events["incident.opened"]["incident"]["status"] == "open"
                continue
            assert [e.kind for e in entries] == ["opened"]
            # exactly the payload emitting this incident's event on its own gives
            assert events["incident.opened"] == _as_json(
                incident_event_payload(incident, parcel, now)
            )
            if incident.type == "returned":  # a return is not silence
                assert set(events) == {"incident.opened"}
                assert data["detection"]["return_reason"] == "refused"
                continue
            assert set(events) == {"parcel.stuck", "incident.opened"}
            assert events["parcel.stuck"] == {
                "parcel": _as_json(parcel_payload(parcel)),
                "detection": data["detection"],
            }

        # every event of acme's went to its endpoint, once; globex has none
        acme_events = session.exec(
            select(Event.id).where(Event.tenant_id == acme, col(Event.incident_id).is_not(None))
        ).all()
        fanned_out = session.exec(select(WebhookDelivery)).all()
        detection_events = [d for d in fanned_out if d.event_id in set(acme_events)]
        assert len(detection_events) == len(fanned_out) == 7 + 8 + 1  # stuck, opened, escalated
        assert {d.endpoint_id for d in fanned_out} == {endpoint}
        assert len({d.event_id for d in fanned_out}) == len(fanned_out)
