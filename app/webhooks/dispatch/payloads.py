"""The body we send: ``{"type", "timestamp", "data"}``, built the same way on every attempt.

``data`` is the event's payload (the incident and/or parcel as the API returns them) plus
``links`` to fetch more. Built from the stored event, so every retry and replay sends the
same bytes. A body over 20 KB is replaced by a thin one (ids and links only, ``"thin": true``),
as Standard Webhooks advises.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Protocol

from app.core.settings import Settings

MAX_BODY_BYTES = 20 * 1024
_OBJECTS = ("incident", "parcel", "endpoint")


def api_base_url(settings: Settings) -> str:
    return (settings.webhook_api_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def links(
    base_url: str, *, parcel_id: uuid.UUID | None, incident_id: uuid.UUID | None
) -> dict[str, str]:
    found = {}
    if incident_id is not None:
        found["incident"] = f"{base_url}/v1/incidents/{incident_id}"
    if parcel_id is not None:
        found["parcel"] = f"{base_url}/v1/parcels/{parcel_id}"
    return found


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _thin(data: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"thin": True, "links": data.get("links", {})}
    for name in _OBJECTS:
        value = data.get(name)
        if isinstance(value, dict) and "id" in value:
            kept[name] = {"id": value["id"]}
    return kept


def render(*, type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    body = _encode({"type": type, "timestamp": occurred_at.isoformat(), "data": data})
    if len(body) > MAX_BODY_BYTES:
        body = _encode({"type": type, "timestamp": occurred_at.isoformat(), "data": _thin(data)})
    return body


class StoredEvent(Protocol):
    """What a body is built from: an ``Event`` row, or a plain row of its columns."""

    type: str
    occurred_at: datetime
    parcel_id: uuid.UUID | None
    incident_id: uuid.UUID | None
    payload: str


def event_body(event: StoredEvent, *, base_url: str) -> bytes:
    data: dict[str, Any] = json.loads(event.payload)
    data["links"] = links(base_url, parcel_id=event.parcel_id, incident_id=event.incident_id)
    return render(type=event.type, occurred_at=event.occurred_at, data=data)


def message_id(event_id: uuid.UUID) -> str:
    """``webhook-id``: the event id, the same on every retry, replay and endpoint."""
    return f"evt_{event_id.hex}"
