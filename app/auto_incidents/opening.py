"""A detection batch's automatic incidents, opened in bulk.

A tick may open thousands: numbers are reserved per tenant in one statement, the rows go in
with one ``INSERT ... ON CONFLICT DO NOTHING`` against the partial unique index, and timeline
entries and events are written only for the rows that really went in (another scheduler
process may have opened some a moment ago; their reserved numbers are then skipped, as a
sequence skips numbers). Entries and events go in with one bulk insert each.

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

from pydantic import BaseModel
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
from app.outbox.events import NewEvent, emit_many
from app.parcels.models import Parcel
from app.parcels.views import parcel_view
from app.stuck.verdict import Verdict


@dataclass(frozen=True, slots=True)
class Opening:
    """A parcel detection found stuck with no open incident: what to open for it."""

    parcel: Parcel
    verdict: Verdict


def open_auto_incidents(
    session: Session, openings: Sequence[Opening], *, now: datetime
) -> list[Incident]:
    """Open an automatic incident for each parcel unless one is open already (see above)."""
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
    opened = insert_ignore_entities(session, Incident, rows)
    if not opened:
        return []
    told = [_told(incident, *steps[incident.id]) for incident in opened]
    # the first entry of each chain and the events, one bulk insert each: no chain to read,
    # nothing to lock, and thousands of rows in a tick
    entries = [_opening_entry(t, now) for t in told]
    insert_rows(session, TimelineEntry.__table__, entries)  # type: ignore[attr-defined]
    emit_many(session, [event for t in told for event in _opening_events(t, now)])
    for t in told:  # presumed lost escalates at once
        if t.opening.verdict.kind == "presumed_lost":
            escalate_as_lost(
                session,
                incident=t.incident,
                parcel=t.opening.parcel,
                verdict=t.opening.verdict,
                now=now,
            )
    return opened


def encoded_view(view: BaseModel) -> str:
    """``view`` as ``emit`` stores a payload holding it: ``json.dumps(view.model_dump(mode=
    "json"))``, compact and ASCII, written by pydantic's encoder in a fraction of the time.

    Over every code point the two encoders differ on DEL alone, which ``json`` escapes and
    pydantic does not (``tests/auto_incidents/test_payloads.py``): a view holding one is
    encoded the ``json`` way. These views hold no floats, where they would differ too.
    """
    text = view.model_dump_json(ensure_ascii=True)
    return _dumps(view.model_dump(mode="json")) if "\x7f" in text else text


def _dumps(value: object) -> str:
    """The outbox's encoding of a payload (``app.outbox.events``)."""
    return json.dumps(value, separators=(",", ":"), default=json_default)


@dataclass(frozen=True, slots=True)
class _Told:
    """An incident just opened, with what its entry and its events both say."""

    incident: Incident
    opening: Opening
    step: NextStep
    details: dict[str, object]
    details_json: str
    parcel_json: str


def _told(incident: Incident, opening: Opening, step: NextStep) -> _Told:
    """Computed once per incident: the detection details and the parcel's payload."""
    details = rule_data(opening.verdict, opening.parcel)
    parcel_json = encoded_view(parcel_view(opening.parcel))
    return _Told(incident, opening, step, details, _dumps(details), parcel_json)


def _opening_entry(told: _Told, now: datetime) -> dict[str, Any]:
    """The automatic incident's first timeline entry: which rule fired, and its numbers."""
    incident, step = told.incident, told.step
    return chained_values(
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        after=None,
        kind="opened",
        actor=SYSTEM,
        summary=f"{incident.type} incident opened automatically: {told.details['rule']} fired; "
        f"next step: {step.action}",
        now=now,
        data={
            "type": incident.type,
            "source": "auto",
            "detection": told.details,
            "next_step": step.model_dump(mode="json"),
            "suggested_template": SUGGESTED_TEMPLATES.get(incident.type),
        },
    )


def _opening_events(told: _Told, now: datetime) -> list[NewEvent]:
    """The opened incident's events: ``parcel.stuck`` (unless a return or failed attempts,
    which are not silence), then ``incident.opened``. Their payloads are the dicts
    ``{"parcel", "detection"}`` and ``app.incidents.service.incident_event_payload``
    (``{"incident", "parcel"}``) encoded as ``emit`` encodes them, from the parts' text."""
    incident, parcel = told.incident, told.opening.parcel
    events = []
    if told.opening.verdict.kind not in AT_ONCE_TYPES:
        events.append(
            NewEvent(
                "parcel.stuck",
                now,
                parcel.tenant_id,
                f'{{"parcel":{told.parcel_json},"detection":{told.details_json}}}',
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
            f'{{"incident":{incident_json},"parcel":{told.parcel_json}}}',
            parcel_id=parcel.id,
            incident_id=incident.id,
        )
    )
    return events
