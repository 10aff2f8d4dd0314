"""A detection batch's automatic incidents, opened in bulk.

A tick may open thousands: numbers are reserved per tenant in one statement, the rows go in
with one ``INSERT ... ON CONFLICT DO NOTHING`` against the partial unique index, and timeline
entries and events are written only for the rows that really went in (another scheduler
process may have opened some a moment ago; their reserved numbers are then skipped, as a
sequence skips numbers). Entries and events go in with one bulk insert each.

Three steps, so that the job can keep the server busy while Python builds rows:
``insert_incidents`` (the INSERT), ``tell`` (entries and events, built without the
database) and ``announce`` (their bulk inserts, the subscribers, escalations).

Each incident's payloads are what ``emit`` would store for them, byte for byte, built once:
the parcel's JSON is encoded once for both events, and views are encoded by pydantic's own
encoder into text, never first into a tree of dicts that lives until the batch ends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.auto_incidents.service import (
    AT_ONCE_TYPES,
    SUGGESTED_TEMPLATES,
    escalate_as_lost,
    incident_row,
    incident_type_for,
    next_step_for,
    reserve_numbers,
    rule_data,
)
from app.core.schemas import json_default
from app.db.bulk_insert import insert_ignore_entities, insert_rows
from app.incidents.models import Incident, TimelineEntry
from app.incidents.schemas import NextStep
from app.incidents.timeline import SYSTEM, chained_values
from app.incidents.views import incident_view
from app.outbox.events import NewEvent, emit_many, encoded_view
from app.parcels.models import Parcel
from app.parcels.views import parcel_view
from app.stuck.verdict import Verdict


@dataclass(frozen=True, slots=True)
class Opening:
    """A parcel detection found stuck with no open incident: what to open for it."""

    parcel: Parcel
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Opened:
    """An incident that really went in, with what it was opened for."""

    incident: Incident
    opening: Opening
    step: NextStep


@dataclass(frozen=True, slots=True)
class Told:
    """What a batch's opened incidents say: their first timeline entries and their events."""

    opened: list[Opened]
    entries: list[dict[str, Any]]
    events: list[NewEvent]


def insert_incidents(
    session: Session, openings: Sequence[Opening], *, now: datetime
) -> list[Opened]:
    """Reserve the numbers and insert the rows; the incidents that went in, in order."""
    if not openings:
        return []
    numbers = reserve_numbers(session, [o.parcel.tenant_id for o in openings])
    rows, steps = [], {}
    for opening in openings:
        parcel, verdict = opening.parcel, opening.verdict
        step = next_step_for(verdict, parcel, now)
        incident_id = uuid.uuid4()
        steps[incident_id] = (opening, step)
        rows.append(
            incident_row(
                incident_id,
                parcel,
                number=next(numbers[parcel.tenant_id]),
                type=incident_type_for(verdict, parcel),
                step=step,
                now=now,
            )
        )
    return [
        Opened(incident, *steps[incident.id])
        for incident in insert_ignore_entities(session, Incident, rows)
    ]


def tell(opened: Sequence[Opened], *, now: datetime) -> Told:
    """The first timeline entry and the events of each opened incident, built without the
    database (the caller may have a statement of its own running meanwhile)."""
    entries: list[dict[str, Any]] = []
    events: list[NewEvent] = []
    for one in opened:
        details = rule_data(one.opening.verdict, one.opening.parcel)
        entries.append(_opening_entry(one, details, now))
        events.extend(_opening_events(one, details, now))
    return Told(list(opened), entries, events)


def announce(session: Session, told: Told, *, now: datetime) -> None:
    """Write the entries and the events (one bulk insert each: no chain to read, nothing to
    lock, thousands of rows in a tick), then escalate the presumed lost at once."""
    insert_rows(session, TimelineEntry.__table__, told.entries)  # type: ignore[attr-defined]
    emit_many(session, told.events)
    for one in told.opened:
        if one.opening.verdict.kind == "presumed_lost":
            escalate_as_lost(
                session,
                incident=one.incident,
                parcel=one.opening.parcel,
                verdict=one.opening.verdict,
                now=now,
            )


def _dumps(value: object) -> str:
    """The outbox's encoding of a payload (``app.outbox.events``)."""
    return json.dumps(value, separators=(",", ":"), default=json_default)


def _opening_entry(opened: Opened, details: dict[str, object], now: datetime) -> dict[str, Any]:
    """The automatic incident's first timeline entry: which rule fired, and its numbers."""
    incident, step = opened.incident, opened.step
    return chained_values(
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        after=None,
        kind="opened",
        actor=SYSTEM,
        summary=f"{incident.type} incident opened automatically: {details['rule']} fired; "
        f"next step: {step.action}",
        now=now,
        data={
            "type": incident.type,
            "source": "auto",
            "detection": details,
            "next_step": step.model_dump(mode="json"),
            "suggested_template": SUGGESTED_TEMPLATES.get(incident.type),
        },
    )


def _opening_events(opened: Opened, details: dict[str, object], now: datetime) -> list[NewEvent]:
    """The opened incident's events: ``parcel.stuck`` (unless a return or failed attempts,
    which are not silence), then ``incident.opened``. Their payloads are the dicts
    ``{"parcel", "detection"}`` and ``app.incidents.service.incident_event_payload``
    (``{"incident", "parcel"}``) encoded as ``emit`` encodes them, from the parts' text."""
    incident, parcel = opened.incident, opened.opening.parcel
    parcel_json = encoded_view(parcel_view(parcel))  # in both events: encoded once
    events = []
    if opened.opening.verdict.kind not in AT_ONCE_TYPES:
        events.append(
            NewEvent(
                "parcel.stuck",
                now,
                parcel.tenant_id,
                f'{{"parcel":{parcel_json},"detection":{_dumps(details)}}}',
                parcel_id=parcel.id,
                incident_id=incident.id,
            )
        )
    incident_json = encoded_view(incident_view(incident, parcel, now=now))
    events.append(
        NewEvent(
            "incident.opened",
            now,
            incident.tenant_id,
            f'{{"incident":{incident_json},"parcel":{parcel_json}}}',
            parcel_id=parcel.id,
            incident_id=incident.id,
        )
    )
    return events
