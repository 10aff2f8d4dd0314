"""What the system tests read back from the database once the processes are done."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text

from app.db.engine import Database

_PROGRESS = text(
    """
    SELECT
        count(*) AS parcels,
        count(*) FILTER (WHERE carrier <> :silent AND last_polled_at IS NULL) AS unpolled,
        count(*) FILTER (WHERE carrier = :silent AND last_poll_error IS NULL) AS silent_untried,
        count(*) FILTER (WHERE next_poll_at <= now()) AS due,
        count(*) FILTER (WHERE carrier <> :silent AND stuck_check_at <= now()) AS unjudged,
        (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS webhooks_pending
    FROM parcels
    """
)


def progress(db: Database, *, silent_carrier: str = "") -> dict[str, int]:
    """Work left: parcels not yet polled (or, for a carrier that never answers, not yet tried),
    due for a poll, due for judging, and webhook deliveries not yet delivered."""
    with db.engine.connect() as conn:
        row = conn.execute(_PROGRESS, {"silent": silent_carrier}).mappings().one()
    return dict(row)


def quiescent(db: Database, expected_parcels: int, *, silent_carrier: str = "") -> bool:
    left = progress(db, silent_carrier=silent_carrier)
    return left.pop("parcels") == expected_parcels and not any(left.values())


def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def parcels_by_number(db: Database) -> dict[str, Any]:
    """tracking number -> (id, carrier, status, last_polled_at, last_poll_error)."""
    found = rows(
        db,
        "SELECT tracking_number, id, carrier, status, last_polled_at, last_poll_error FROM parcels",
    )
    return {row[0]: row for row in found}


def open_incidents_per_parcel(db: Database) -> Counter[str]:
    """tracking number -> unresolved incidents on it."""
    found = rows(
        db,
        "SELECT p.tracking_number FROM incidents i JOIN parcels p ON p.id = i.parcel_id "
        "WHERE i.status <> 'resolved'",
    )
    return Counter(row[0] for row in found)


def events_per(db: Database, event_type: str, column: str) -> Counter[str]:
    """How many events of ``event_type`` each ``parcel_id`` or ``incident_id`` has."""
    assert column in ("parcel_id", "incident_id")
    found = rows(db, f"SELECT {column} FROM events WHERE type = :type", type=event_type)
    return Counter(str(row[0]) for row in found)
