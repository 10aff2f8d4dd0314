"""Many events at once (a detection tick): the same rows and deliveries as one ``emit`` each."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.core.settings import Settings
from app.db.engine import Database
from app.outbox.events import NewEvent, emit, emit_many
from app.outbox.models import Event
from app.webhooks.models import WebhookDelivery
from tests.factories import FakeClock
from tests.webhooks.helpers import add_endpoint, make_parcels, tenant_id

HOOK = "https://127.0.0.1/hook"


def _stored(session: Session) -> list[dict[str, Any]]:
    """Every event as stored, without its id (each write makes a new one), in a fixed order."""
    session.flush()
    rows = session.exec(select(Event).order_by(col(Event.type), col(Event.payload)))
    return [
        {
            "tenant_id": e.tenant_id,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "parcel_id": e.parcel_id,
            "incident_id": e.incident_id,
            "payload": json.loads(e.payload),
        }
        for e in rows
    ]


def _fanned_out(session: Session) -> list[tuple[uuid.UUID, uuid.UUID, str, uuid.UUID | None]]:
    """Each delivery as (endpoint, event, type, parcel), sorted."""
    session.flush()
    rows = session.exec(select(WebhookDelivery))
    return sorted((d.endpoint_id, d.event_id, d.event_type, d.parcel_id) for d in rows)


def _without_event_ids(
    rows: list[tuple[uuid.UUID, uuid.UUID, str, uuid.UUID | None]],
) -> list[tuple[uuid.UUID, str, uuid.UUID | None]]:
    return sorted((endpoint, type, parcel) for endpoint, _event, type, parcel in rows)


def _events(tenant: uuid.UUID, parcels: list[uuid.UUID], now: datetime) -> list[NewEvent]:
    return [
        NewEvent(
            "parcel.stuck",
            now,
            tenant,
            {"parcel": {"id": str(parcel_id)}, "detection": {"since": now, "n": i}},
            parcel_id=parcel_id,
        )
        for i, parcel_id in enumerate(parcels)
    ] + [NewEvent("carrier.unavailable", now, None, {"carrier": "sandbox"})]


def test_emit_many_stores_what_emit_stores_and_fans_each_event_out(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    tenant = tenant_id(db)
    endpoint, _secret = add_endpoint(
        db, tenant=tenant, url=HOOK, server_key=settings.resolved_secret_key(), now=clock.now
    )
    parcels = make_parcels(db, tenant, 3, clock.now)
    wanted = _events(tenant, parcels, clock.now)

    with db.session() as session:  # one emit each, looked at, then undone
        for new in wanted:
            assert isinstance(new.payload, dict)
            emit(
                session,
                type=new.type,
                occurred_at=new.occurred_at,
                tenant_id=new.tenant_id,
                payload=new.payload,
                parcel_id=new.parcel_id,
                incident_id=new.incident_id,
            )
        one_by_one, by_emit = _stored(session), _fanned_out(session)
        session.rollback()

    with db.session() as session:
        emitted = emit_many(session, wanted)
        session.commit()

    with db.session() as session:
        assert _stored(session) == one_by_one
        fanned_out = _fanned_out(session)
    assert len(one_by_one) == 4
    assert _without_event_ids(fanned_out) == _without_event_ids(by_emit)
    assert len(fanned_out) == 4  # the endpoint takes every type, the outage included
    assert {event for _endpoint, event, _type, _parcel in fanned_out} == {e.id for e in emitted}
    assert {endpoint_id for endpoint_id, *_ in fanned_out} == {endpoint}


def test_emit_many_writes_nothing_when_one_type_is_unknown(db: Database, clock: FakeClock) -> None:
    tenant = tenant_id(db)
    good = NewEvent("carrier.recovered", clock.now, tenant, {})
    with db.session() as session:
        with pytest.raises(ValueError, match="unknown event type"):
            emit_many(session, [good, NewEvent("parcel.teleported", clock.now, tenant, {})])
        session.commit()
    with db.session() as session:
        assert _stored(session) == []


def test_emit_many_of_nothing_writes_nothing(db: Database) -> None:
    with db.session() as session:
        assert emit_many(session, []) == []
        session.commit()
    with db.session() as session:
        assert _stored(session) == []


def test_a_payload_given_as_text_is_stored_as_that_text(db: Database, clock: FakeClock) -> None:
    tenant = tenant_id(db)
    [parcel] = make_parcels(db, tenant, 1, clock.now)
    text = '{"parcel":{"id":"' + str(parcel) + '"},"detection":{"n":1}}'
    with db.session() as session:
        emit_many(session, [NewEvent("parcel.stuck", clock.now, tenant, text, parcel_id=parcel)])
        session.commit()
    with db.session() as session:
        assert [e.payload for e in session.exec(select(Event))] == [text]
