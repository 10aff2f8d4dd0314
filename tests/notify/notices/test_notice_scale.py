"""A notice to 10,000 parcels goes out in one request, in a few seconds."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlmodel import func, select

from app.core.models import Tenant
from app.db.bulk_insert import insert_rows
from app.db.engine import Database
from app.outbox.models import Event
from app.parcels.models import Parcel
from app.workflow.messages.models import CustomerMessage
from tests.factories import ApiClient, FakeClock
from tests.notify.customers import HOLIDAY, PEOPLE

PARCELS = 10_000


def _many_parcels(db: Database, clock: FakeClock, count: int) -> None:
    with db.session() as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == "acme")).one()
        rows = []
        for n in range(count):
            locale, country, name = PEOPLE[n % 3]
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant.id,
                    "carrier": "ups",
                    "tracking_number": f"BULK{n:08d}",
                    "order_id": f"SO-{n:06d}",
                    "customer_name": name,
                    "customer_email": f"c{n}@example.com" if n % 10 else None,
                    "customer_locale": locale,
                    "customer_proactive_notices": n % 25 != 1,
                    "destination_country": country,
                    "origin_country": "CN",
                    "status": "in_transit",
                    "shipped_at": clock.now - timedelta(days=3),
                    "created_at": clock.now,
                    "updated_at": clock.now,
                }
            )
        insert_rows(session, Parcel.__table__, rows)  # type: ignore[attr-defined]
        session.commit()


def test_ten_thousand_parcels_are_told_in_one_request(
    api: ApiClient, db: Database, clock: FakeClock, database_url: str
) -> None:
    _many_parcels(db, clock, PARCELS)
    body = {"filter": {"carrier": "ups"}, "template_key": "holiday_suspension", "params": HOLIDAY}

    started = time.perf_counter()
    dry = api.post("/v1/notices", json={**body, "dry_run": True})
    dry_seconds = time.perf_counter() - started
    started = time.perf_counter()
    real = api.post("/v1/notices", json={**body, "dry_run": False})
    seconds = time.perf_counter() - started

    assert dry.status_code == 200, dry.text
    assert real.status_code == 201, real.text
    assert dry.json()["count"] == PARCELS
    progress = real.json()["progress"]
    assert progress["queued"] + progress["not_sent"] == PARCELS
    assert progress["not_sent"] == 1000 + 400  # no address; opted out (all with an address)
    with db.session() as session:
        messages = session.exec(select(func.count()).select_from(CustomerMessage)).one()
        events = session.exec(
            select(func.count()).where(Event.type == "message.delivery_changed")
        ).one()
    assert (messages, events) == (PARCELS, PARCELS)
    print(f"\n{database_url.split(':')[0]}: dry run {dry_seconds:.2f} s, real {seconds:.2f} s")
    if database_url.startswith("postgresql"):
        assert seconds < 30, f"{seconds:.1f} s for {PARCELS} parcels"
