"""Helpers for tests of scheduler jobs: run a tick through the admin API, read the events."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from app.db.engine import Database
from app.outbox.models import Event
from tests.factories import ApiClient


def run_job(api: ApiClient, job: str) -> dict[str, int]:
    response = api.post(f"/v1/admin/jobs/{job}/run")
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()["counts"]
    return counts


def events(db: Database, type: str | None = None) -> list[dict[str, Any]]:
    """Domain events as stored, oldest first, payload decoded."""
    with db.session() as session:
        query = select(Event).order_by(col(Event.occurred_at), col(Event.id))
        if type is not None:
            query = query.where(Event.type == type)
        return [
            {
                "type": e.type,
                "parcel_id": str(e.parcel_id) if e.parcel_id else None,
                "incident_id": str(e.incident_id) if e.incident_id else None,
                "payload": json.loads(e.payload),
            }
            for e in session.exec(query)
        ]
