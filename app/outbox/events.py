"""Domain events, written in the caller's transaction so delivery can never miss or invent one.

``emit`` adds the event row and hands it to every subscriber in the same transaction: the
webhook fan-out (``app.webhooks.publish``) adds its outbox rows there, so an event and its
deliveries commit together or not at all. Subscribers are registered once at start-up
(``app.startup.wire``), never as a side effect of an import; emitting with none registered
is a programming error and says so. ``emit_many`` writes a batch's events with one bulk insert
(a detection tick opens thousands of incidents) and hands each to the subscribers alike.
A writer that skips the ORM (``app.incidents.opening``) hands its event to each subscriber's
twin on a plain connection instead (``subscribe(..., on_connection=...)``, ``writes_for``),
and leaves the work to the session when one has no twin.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from pydantic import BaseModel
from sqlalchemy import inspect
from sqlmodel import Session

from app.core.schemas import json_default
from app.db.bulk_insert import insert_rows
from app.outbox.models import Event

EVENT_TYPES: dict[str, str] = {
    "parcel.status_changed": "A parcel's normalised tracking status changed.",
    "parcel.stuck": "A parcel has had no new scan for longer than its threshold.",
    "parcel.movement_resumed": "A parcel with an open automatic incident moved again.",
    "parcel.eta_changed": "A parcel's estimated delivery window moved (`previous` holds the old).",
    "incident.opened": "An incident was opened (by a customer, an agent or automatically).",
    "incident.escalated": "An incident was escalated.",
    "incident.assigned": "An incident got an owner, another owner, or none (unassigned).",
    "incident.next_step_overdue": "An incident's next step passed its deadline.",
    "incident.resolved": "An incident was resolved.",
    "incident.reopened": "A resolved incident was reopened.",
    "message.created": "A message to or from the customer was recorded (sent by us when it "
    "was asked to be, else by the storefront's mailer or helpdesk).",
    "message.delivery_changed": "An e-mail we send to the customer was queued, sent (with the "
    "SMTP server's queue id), failed (with the reason) or could not be sent at all.",
    "compensation.proposed": "A solution with compensation was proposed for an incident.",
    "compensation.approved": "A supervisor approved a proposed compensation.",
    "compensation.rejected": "A supervisor rejected a proposed compensation, with the reason.",
    "claim.created": "A carrier claim was drafted for an incident.",
    "claim.filed": "A carrier claim was filed with the carrier (with its claim reference).",
    "claim.approved": "The carrier approved a claim in full.",
    "claim.partially_approved": "The carrier approved part of a claim.",
    "claim.rejected": "The carrier rejected a claim.",
    "claim.paid": "The carrier paid a claim.",
    "carrier.unavailable": "A carrier could not be polled; stuck detection pauses for it.",
    "carrier.recovered": "A carrier that was unavailable answers again.",
    "webhook.test": "A test message, sent on request to one webhook endpoint.",
    "webhook_endpoint.disabled": "A webhook endpoint was disabled (gone, or failing for days).",
}

_EVENT_CLASS = inspect(Event).class_manager
Subscriber = Callable[[Session, Event], object]
Write = Callable[["psycopg.AsyncConnection[Any]"], Awaitable[object]]
ConnectionSubscriber = Callable[["psycopg.AsyncConnection[Any]", Event], Awaitable[Write | None]]
_subscribers: list[Subscriber] = []
_on_connection: dict[Subscriber, ConnectionSubscriber] = {}


class NeedsSession(Exception):
    """A connection subscriber cannot do this event's work without the ORM: the writer does
    the whole change in a session instead."""


def subscribe(subscriber: Subscriber, *, on_connection: ConnectionSubscriber | None = None) -> None:
    """Have ``subscriber(session, event)`` called for every event, in the event's transaction.

    ``on_connection``: the same work on a plain psycopg connection, for a writer that skips
    the ORM (``app.incidents.opening``), in two steps. Called before the event's transaction
    begins, it reads what it needs (nothing it reads may depend on the event's own rows) and
    answers with its writes, a coroutine function the writer then calls in the event's
    transaction, after the event's row; or None when it writes nothing; or it raises
    ``NeedsSession``. Together they must write exactly what ``subscriber`` writes. Reading
    first lets a writer whose subscribers write nothing send its rows as one statement,
    without a transaction around it.
    """
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    if on_connection is not None:
        _on_connection[subscriber] = on_connection


def connection_subscribers() -> tuple[ConnectionSubscriber, ...] | None:
    """Every subscriber's twin on a plain connection, in order; None when one has none (a
    writer without the ORM then cannot write an event)."""
    if not _subscribers or any(s not in _on_connection for s in _subscribers):
        return None
    return tuple(_on_connection[s] for s in _subscribers)


async def writes_for(
    connection: psycopg.AsyncConnection[Any],
    event: Event,
    subscribers: Sequence[ConnectionSubscriber],
) -> list[Write]:
    """``_publish`` for an event about to be written on a plain connection: what each
    subscriber will write in the event's transaction (see ``subscribe``)."""
    writes = []
    for subscriber in subscribers:
        write = await subscriber(connection, event)
        if write is not None:
            writes.append(write)
    return writes


def emit(
    session: Session,
    *,
    type: str,
    occurred_at: datetime,
    tenant_id: uuid.UUID | None,
    payload: dict[str, Any],
    parcel_id: uuid.UUID | None = None,
    incident_id: uuid.UUID | None = None,
) -> Event:
    event = Event(
        **_row(
            NewEvent(
                type, occurred_at, tenant_id, payload, parcel_id=parcel_id, incident_id=incident_id
            )
        )
    )
    _require_subscribers()
    session.add(event)
    _publish(session, event)
    return event


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event for ``emit_many``: ``emit``'s arguments. A ``payload`` given as text is
    taken as already encoded the way ``emit`` encodes one (a caller building thousands puts
    a part common to several payloads in once, as text)."""

    type: str
    occurred_at: datetime
    tenant_id: uuid.UUID | None
    payload: dict[str, Any] | str
    parcel_id: uuid.UUID | None = None
    incident_id: uuid.UUID | None = None


def emit_many(session: Session, events: Sequence[NewEvent]) -> list[Event]:
    """``emit`` for thousands at once (a detection tick): the rows go in with one bulk insert
    (``app.db.bulk_insert``) instead of one ORM object each, then every event goes to the
    subscribers as ``emit`` hands it. The rows they reference must already be written."""
    rows = [_row(new) for new in events]
    if not rows:
        return []
    _require_subscribers()
    insert_rows(session, Event.__table__, rows)  # type: ignore[attr-defined]
    written = [_as_loaded(row) for row in rows]
    for event in written:
        _publish(session, event)
    return written


def written_event(new: NewEvent) -> Event:
    """The event ``emit`` adds, as the row a writer without the ORM sends (``_as_loaded``)."""
    return _as_loaded(_row(new))


def _row(new: NewEvent) -> dict[str, Any]:
    if new.type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {new.type!r}")
    return {
        "id": uuid.uuid4(),
        "tenant_id": new.tenant_id,
        "type": new.type,
        "occurred_at": new.occurred_at,
        "parcel_id": new.parcel_id,
        "incident_id": new.incident_id,
        "payload": new.payload if isinstance(new.payload, str) else encoded(new.payload),
    }


def encoded_view(view: BaseModel) -> str:
    """``view`` as ``emit`` stores a payload holding it: ``json.dumps(view.model_dump(mode=
    "json"))``, compact and ASCII, written by pydantic's encoder in a fraction of the time.

    Over every code point the two encoders differ on DEL alone, which ``json`` escapes and
    pydantic does not (``tests/auto_incidents/test_payloads.py``): a view holding one is
    encoded the ``json`` way. These views hold no floats, where they would differ too.
    """
    text = view.model_dump_json(ensure_ascii=True)
    return encoded(view.model_dump(mode="json")) if "\x7f" in text else text


def encoded(value: object) -> str:
    """A payload (or a part of one) as ``emit`` stores it: compact JSON."""
    return json.dumps(value, separators=(",", ":"), default=json_default)


def _as_loaded(row: dict[str, Any]) -> Event:
    """The event of a row already written, built as the ORM builds one it loads: without
    ``__init__``, whose per-field work cost ~0.1 ms an event (a detection tick emits 20,000).
    Not in the session, like a just-written row nobody has read yet."""
    event: Event = _EVENT_CLASS.new_instance()
    event.__dict__.update(row)
    return event


def _require_subscribers() -> None:
    if not _subscribers:
        raise RuntimeError("no outbox subscriber is registered: call app.startup.wire() first")


def _publish(session: Session, event: Event) -> None:
    """What happens to every event once its row is written (or added): the subscribers."""
    for subscriber in _subscribers:
        subscriber(session, event)  # its rows commit with the event, or neither does
