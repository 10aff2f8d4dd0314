"""An example body for every event type, for ``GET /v1/event-types``.

Built from made-up rows through the same views and payload code as real events, so an
example cannot drift from what subscribers receive (a test compares their keys with events
the service really emitted).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.incidents.models import Incident
from app.incidents.views import incident_view
from app.parcels.models import Parcel
from app.parcels.service import parcel_payload
from app.webhooks.dispatch import payloads
from app.webhooks.endpoints.service import endpoint_view
from app.webhooks.models import WebhookEndpoint

AT = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
BASE_URL = "https://tracker.example.com"
_PARCEL_WITH_INCIDENT = frozenset({"parcel.stuck", "parcel.movement_resumed"})


def _parcel() -> Parcel:
    return Parcel(
        id=uuid.UUID("0f8c1e9a-5b2d-4c3e-9a71-2d5e8b6f4a10"),
        tenant_id=uuid.UUID(int=1),
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        order_id="SO-10023",
        order_date=date(2026, 3, 1),
        customer_name="Maria Schmidt",
        customer_email="maria.schmidt@example.com",
        customer_locale="de-DE",
        origin_country="CN",
        destination_country="DE",
        shipped_at=AT - timedelta(days=10),
        declared_value=Decimal("59.90"),
        currency="EUR",
        status="in_transit",
        last_scan_at=AT - timedelta(days=8),
        last_scan_status="in_transit",
        last_scan_description="Departed from facility",
        last_scan_city="Leipzig",
        last_scan_country="DE",
        created_at=AT - timedelta(days=10),
        updated_at=AT,
    )


def _incident(parcel: Parcel) -> Incident:
    return Incident(
        id=uuid.UUID("6a0d2f44-1c8b-4e57-b3a9-7f1e0c5d9b22"),
        tenant_id=parcel.tenant_id,
        number=42,
        parcel_id=parcel.id,
        type="delay",
        source="auto",
        status="open",
        description="No scan for 6 business days (threshold 5).",
        detected_at=AT,
        opened_at=AT,
        next_step_action="Contact UPS about 1Z999AA10123456784.",
        next_step_due_at=AT + timedelta(days=1),
        created_at=AT,
        updated_at=AT,
    )


def _data(event_type: str) -> dict[str, Any]:
    parcel = _parcel()
    incident = _incident(parcel)
    if event_type.startswith("incident."):
        return {
            "incident": incident_view(incident, parcel, now=AT).model_dump(mode="json"),
            "parcel": parcel_payload(parcel),
        }
    detection = {
        "rule": "default: in_transit, express",
        "kind": "stuck",
        "since": (AT - timedelta(days=8)).isoformat(),
        "country": "DE",
        "elapsed_business_days": 6.0,
        "threshold_business_days": 5,
        "lost_threshold_business_days": 15,
    }
    carrier = {"carrier": "ups", "unavailable_since": (AT - timedelta(hours=1)).isoformat()}
    endpoint = WebhookEndpoint(
        id=uuid.UUID(int=7),
        tenant_id=parcel.tenant_id,
        url="https://hooks.example.com/rt",
        event_types="*",
        enabled=False,
        disabled_reason="gone",
        disabled_at=AT,
        secret_encrypted="",
        created_at=AT - timedelta(days=30),
        updated_at=AT,
    )
    by_type: dict[str, dict[str, Any]] = {
        "parcel.status_changed": {"parcel": parcel_payload(parcel), "previous": "accepted"},
        "parcel.stuck": {"parcel": parcel_payload(parcel), "detection": detection},
        "parcel.movement_resumed": {
            "parcel": parcel_payload(parcel),
            "incident_id": str(incident.id),
        },
        "carrier.unavailable": {**carrier, "error": "HTTP 503 from the tracking API"},
        "carrier.recovered": {**carrier, "recovered_at": AT.isoformat()},
        "webhook.test": {
            "endpoint_id": str(endpoint.id),
            "message": "A test from Resolution Tracker: your endpoint receives our webhooks.",
        },
        "webhook_endpoint.disabled": {
            "endpoint": endpoint_view(endpoint).model_dump(mode="json"),
            "reason": "gone",
        },
    }
    if event_type in by_type:
        return by_type[event_type]
    # a type this module has no example for yet (claims, messages, compensation ...): those
    # carry the incident and their own object, named after the type's first word
    noun = event_type.split(".", 1)[0]
    return {
        noun: {"id": str(uuid.UUID(int=9)), "note": f"the {noun}, as GET returns it"},
        "incident": incident_view(incident, parcel, now=AT).model_dump(mode="json"),
    }


def example_body(event_type: str) -> dict[str, Any]:
    """What a subscriber receives for ``event_type``, with made-up values."""
    data = _data(event_type)
    has_parcel = "parcel" in data or "incident" in data
    has_incident = "incident" in data or event_type in _PARCEL_WITH_INCIDENT
    data["links"] = payloads.links(
        BASE_URL,
        parcel_id=_parcel().id if has_parcel else None,
        incident_id=_incident(_parcel()).id if has_incident else None,
    )
    return {"type": event_type, "timestamp": AT.isoformat(), "data": data}
