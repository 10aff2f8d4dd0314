"""A realistic incident that every template override must render against before it is saved."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from app.incidents.models import Incident
from app.parcels.models import Parcel
from app.workflow.templates.context import MessageFacts

SAMPLE_NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


def sample_facts() -> MessageFacts:
    """Not stored anywhere: built fresh for each check, so nothing can leak between tenants."""
    parcel = Parcel(
        id=uuid.UUID(int=1),
        tenant_id=uuid.UUID(int=2),
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        order_id="SO-10023",
        order_date=date(2026, 3, 1),
        customer_name="Zoë Łukasiewicz-Núñez",
        customer_email="zoe@example.com",
        customer_locale="de-DE",
        origin_country="CN",
        destination_country="DE",
        shipped_at=SAMPLE_NOW - timedelta(days=10),
        declared_value=Decimal("59.90"),
        currency="EUR",
        status="customs_hold",
        last_scan_at=SAMPLE_NOW - timedelta(days=4),
        last_scan_status="customs_hold",
        last_scan_description="Held by import customs",
        last_scan_city="Frankfurt",
        last_scan_country="DE",
    )
    incident = Incident(
        id=uuid.UUID(int=3),
        tenant_id=parcel.tenant_id,
        number=42,
        parcel_id=parcel.id,
        type="delay",
        source="customer",
        opened_at=SAMPLE_NOW,
        compensation_kind="partial_refund",
        compensation_amount=Decimal("15"),
        compensation_currency="EUR",
    )
    return MessageFacts(
        incident=incident,
        parcel=parcel,
        store_name="Sample Store",
        now=SAMPLE_NOW,
        update_business_days=2,
    )
