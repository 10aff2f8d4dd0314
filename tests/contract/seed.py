"""One of every tenant-owned resource, made through the API the way a storefront would.

Both contract tests need real rows behind the ids in the paths: the fuzzer so that id-taking
routes are reached past their 404, the isolation test so that another tenant has something
to (fail to) see. ``PATH_IDS`` maps every path parameter name of the OpenAPI to the seeded
value, and the isolation test fails on a name it does not know.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from tests.factories import ApiClient, open_incident, register_parcel

TEMPLATE = ("delay_notice", "de")
STUCK_RULE = {"carrier": "ups", "status": "in_transit", "business_days": 9}


@dataclass(frozen=True, slots=True)
class Seeded:
    """The ids and the identifying data of one tenant's rows."""

    parcel_id: str
    incident_id: str
    message_id: str
    evidence_id: str
    claim_id: str
    notice_id: str
    endpoint_id: str
    delivery_id: int
    tracking_number: str
    order_id: str
    customer_email: str
    hook_url: str
    wording: str

    @property
    def path_ids(self) -> dict[str, str]:
        """Every path parameter name of the API, and the value that names this tenant's row."""
        return {
            "parcel_id": self.parcel_id,
            "incident_id": self.incident_id,
            "message_id": self.message_id,
            "evidence_id": self.evidence_id,
            "claim_id": self.claim_id,
            "notice_id": self.notice_id,
            "endpoint_id": self.endpoint_id,
            "delivery_id": str(self.delivery_id),
            "key": TEMPLATE[0],
            "language": TEMPLATE[1],
        }

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in another tenant's answer."""
        return [
            self.parcel_id,
            self.incident_id,
            self.message_id,
            self.evidence_id,
            self.claim_id,
            self.notice_id,
            self.endpoint_id,
            self.tracking_number,
            self.order_id,
            self.customer_email,
            self.hook_url,
            self.wording,
        ]


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), "red").save(buffer, "JPEG")
    return buffer.getvalue()


def _created(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (201,)), response.text[:500]
    body: dict[str, Any] = response.json()
    return body


def seed_tenant(
    api: ApiClient, *, marker: str, order_id: str, tracking_number: str, email: str
) -> Seeded:
    """A subscribed endpoint first, so the incident's events leave a delivery behind.

    ``tracking_number`` should be a sandbox one (``SANDBOX-INTRANSIT-...``): the carrier is
    detected from it, and refreshing it needs no network and no credentials. ``marker`` makes
    the webhook URL and the template wording this tenant's own.
    """
    # Allowed by the contract tests' settings (private networks); nothing listens there and
    # no test runs the dispatcher against it.
    hook_url = f"http://127.0.0.1:9/{marker}-hook"
    wording = f"Bestellung {{{{ order_id }}}}: {marker} meldet eine Verspätung"
    endpoint = _created(api.post("/v1/webhook-endpoints", json={"url": hook_url}))
    customer = {"name": "Maria Schmidt", "email": email, "locale": "de-DE"}
    parcel = register_parcel(
        api, order_id=order_id, tracking_number=tracking_number, carrier=None, customer=customer
    )
    incident = _created(open_incident(api, parcel["id"], type="damaged"))
    base = f"/v1/incidents/{incident['id']}"
    message = _created(
        api.post(f"{base}/messages", json={"channel": "email", "text": "We are on it."})
    )
    evidence = _created(api.post(f"{base}/evidence", files={"file": ("box.jpg", jpeg())}))
    claim = _created(
        api.post(
            f"{base}/claims",
            json={"claim_type": "damaged", "amount": "59.90", "currency": "EUR"},
        )
    )
    notice = _created(
        api.post(
            "/v1/notices",
            json={
                "filter": {"parcel_ids": [parcel["id"]]},
                "template_key": "in_transit_update",
                "dry_run": False,
            },
        )
    )
    own = {"subject": wording, "body": "Hallo {{ customer_name }},\n{{ store_name }}"}
    _created(api.put(f"/v1/templates/{TEMPLATE[0]}/{TEMPLATE[1]}", json=own), 200, 201)
    _created(api.put("/v1/settings/stuck-rules", json={"rules": [STUCK_RULE]}), 200)
    deliveries = api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["items"]
    assert deliveries, "the incident's events should have queued a delivery"
    return Seeded(
        parcel_id=parcel["id"],
        incident_id=incident["id"],
        message_id=message["id"],
        evidence_id=evidence["id"],
        claim_id=claim["id"],
        notice_id=notice["id"],
        endpoint_id=endpoint["id"],
        delivery_id=int(deliveries[0]["id"]),
        tracking_number=tracking_number,
        order_id=order_id,
        customer_email=email,
        hook_url=hook_url,
        wording=wording,
    )
