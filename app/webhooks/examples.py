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

from app.core.actors import Actor
from app.core.settings import Settings
from app.incidents.models import CompensationProposal, Incident
from app.incidents.views import incident_view
from app.parcels.models import Parcel
from app.parcels.service import parcel_payload
from app.webhooks.dispatch import payloads
from app.webhooks.endpoints.service import endpoint_view
from app.webhooks.models import WebhookEndpoint
from app.workflow.approvals import proposal_view
from app.workflow.claims.models import CarrierClaim
from app.workflow.claims.service import claim_view
from app.workflow.messages.models import CustomerMessage
from app.workflow.messages.views import message_view

AT = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
BASE_URL = "https://tracker.example.com"
EXAMPLE_ACTOR = Actor("user", uuid.UUID(int=8), "Anna Berg")
OWNER_EMAIL = "anna@shop.example"
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
        data = {
            "incident": incident_view(incident, parcel, now=AT).model_dump(mode="json"),
            "parcel": parcel_payload(parcel),
        }
        if event_type == "incident.assigned":
            owner = {"id": str(EXAMPLE_ACTOR.id), "name": EXAMPLE_ACTOR.name, "email": OWNER_EMAIL}
            data["incident"]["assignee"] = owner
            data["assignment"] = {
                "from": None,
                "to": owner,
                "by": {"type": "user", "id": str(uuid.UUID(int=12)), "name": "Sam Ortiz"},
            }
        return data
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
        "parcel.eta_changed": {
            "parcel": parcel_payload(
                parcel.model_copy(
                    update={
                        "eta_earliest": date(2026, 3, 18),
                        "eta_latest": date(2026, 3, 19),
                        "eta_basis": "carrier",
                    }
                )
            ),
            "previous": {"earliest": "2026-03-16", "latest": "2026-03-20", "basis": "history"},
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
    return _workflow_data(event_type, incident, parcel, AT)


def _workflow_data(type: str, incident: Incident, parcel: Parcel, now: datetime) -> dict[str, Any]:
    """A ``message.*``, ``claim.*`` or ``compensation.*`` payload, through the workflow's views."""
    view = incident_view(incident, parcel, now=now).model_dump(mode="json")
    if type in ("message.created", "message.delivery_changed"):
        sent = type == "message.delivery_changed"
        message = CustomerMessage(
            id=uuid.UUID(int=9),
            tenant_id=incident.tenant_id,
            parcel_id=parcel.id,
            incident_id=incident.id,
            direction="out",
            channel="email",
            template_key="delay_notice",
            language="de",
            subject=f"Ihre Bestellung {parcel.order_id} verspätet sich: der Grund",
            body="Hallo Maria Schmidt,\n\nes tut uns leid: ...",
            body_html="<p>Hallo Maria Schmidt,</p>\n<p>es tut uns leid: ...</p>",
            summary=f"Ihre Bestellung {parcel.order_id} verspätet sich: der Grund",
            actor_type=EXAMPLE_ACTOR.type,
            actor_id=EXAMPLE_ACTOR.id,
            actor_name=EXAMPLE_ACTOR.name,
            occurred_at=now,
            created_at=now,
            email_to=parcel.customer_email,
            delivery="sent" if sent else "queued",
            delivery_changed_at=now,
            smtp_queue_id="250 2.0.0 Ok: queued as 4FJ2x1Qz" if sent else None,
            delivery_attempts=1 if sent else 0,
            email_message_id=f"<{uuid.UUID(int=9).hex}@shop.example>",
        )
        shown = message_view(message).model_dump(mode="json")
        if sent:
            return {"message": shown, "previous": "queued"}
        return {"message": shown, "incident": view}
    if type.startswith("claim."):
        claim = CarrierClaim(
            id=uuid.UUID(int=10),
            tenant_id=incident.tenant_id,
            incident_id=incident.id,
            carrier=parcel.carrier,
            claim_type="lost",
            amount=Decimal("59.90"),
            currency="EUR",
            status=type.removeprefix("claim.").replace("created", "draft"),
            evidence_ids="[]",
            shipped_at=now - timedelta(days=10),
            filing_deadline=now + timedelta(days=50),
            created_by=EXAMPLE_ACTOR.name,
            created_by_type=EXAMPLE_ACTOR.type,
            created_by_id=EXAMPLE_ACTOR.id,
            created_at=now,
            updated_at=now,
        )
        settings = Settings()
        return {"claim": claim_view(claim, settings, now).model_dump(mode="json"), "incident": view}
    status = {"compensation.proposed": "pending"}.get(type, type.removeprefix("compensation."))
    proposal = CompensationProposal(
        id=uuid.UUID(int=11),
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        seq=1,
        solution="Refund the order",
        kind="refund",
        amount=Decimal("59.90"),
        currency="EUR",
        value=Decimal("59.90"),
        value_currency="EUR",
        threshold=Decimal(50),
        needs_approval=True,
        status=status,
        proposed_by=EXAMPLE_ACTOR.name,
        proposed_by_type=EXAMPLE_ACTOR.type,
        proposed_by_id=EXAMPLE_ACTOR.id,
        created_at=now,
    )
    return {"proposal": proposal_view(proposal).model_dump(mode="json"), "incident": view}


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
