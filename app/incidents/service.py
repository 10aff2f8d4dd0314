"""Incidents: open, edit, move through the lifecycle, log actions.

Every change writes its timeline entry (and its event, where one is defined) in the caller's
transaction. Writers take the incident's row first (a guarded ``UPDATE ... WHERE version = v``
or ``SELECT ... FOR UPDATE``), so timeline sequence numbers can never race.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, bindparam, update
from sqlmodel import Session, col, select

from app.core.actors import Actor
from app.core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from app.core.models import Tenant
from app.core.schemas import iso_utc
from app.db.engine import Database
from app.incidents import process
from app.incidents.models import Incident, TimelineEntry
from app.incidents.schemas import (
    ActionCreate,
    IncidentRead,
    IncidentUpdate,
    NextStep,
    TransitionCreate,
)
from app.incidents.timeline import append_entry, chained_values
from app.incidents.views import incident_view
from app.outbox.events import emit, encoded_view
from app.parcels.models import Parcel
from app.parcels.service import parcel_payload
from app.parcels.views import parcel_view
from app.stuck import checks as stuck_checks

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset(
        {"in_progress", "awaiting_customer", "awaiting_carrier", "escalated", "resolved"}
    ),
    "in_progress": frozenset({"awaiting_customer", "awaiting_carrier", "escalated", "resolved"}),
    "awaiting_customer": frozenset({"in_progress", "awaiting_carrier", "escalated", "resolved"}),
    "awaiting_carrier": frozenset({"in_progress", "awaiting_customer", "escalated", "resolved"}),
    "escalated": frozenset({"in_progress", "awaiting_customer", "awaiting_carrier", "resolved"}),
    "resolved": frozenset({"open"}),  # reopen, with a reason
}
STATUS_EVENTS = {"resolved": "incident.resolved", "escalated": "incident.escalated"}
MONEY_RESOLUTIONS = frozenset({"refunded", "partially_refunded"})
REFUND_KINDS = frozenset({"refund", "partial_refund"})
# resolutions that hand over the compensation on the incident, if it carries one
APPLIES_COMPENSATION = MONEY_RESOLUTIONS | {"reshipped", "compensated"}
_COMPENSATION_COLUMNS = ("kind", "amount", "currency", "percent")
MAX_CLOCK_SKEW = timedelta(minutes=5)


def default_next_step(*, source: str, now: datetime, hours: int) -> NextStep:
    """What an ops team does first: answer the customer within a day, or look into it."""
    action = (
        "Acknowledge the customer and check the latest tracking"
        if source == "customer"
        else "Review the parcel's tracking and contact the carrier if it is not moving"
    )
    return NextStep(action=action, due_at=now + timedelta(hours=hours))


def numbers_statement(tenant_id: object, count: object) -> Update:
    """``UPDATE tenants ... RETURNING incident_seq``: ``count`` more numbers for the tenant
    (values, or ``bindparam`` s for a statement compiled once)."""
    return (
        update(Tenant)
        .where(Tenant.id == tenant_id)  # type: ignore[arg-type]
        .values(incident_seq=col(Tenant.incident_seq) + count)
        .returning(col(Tenant.incident_seq))
    )


def next_number(session: Session, tenant_id: uuid.UUID, *, count: int = 1) -> int:
    """Reserve ``count`` consecutive human numbers for the tenant; the last of them.

    On PostgreSQL the reservation commits on its own (``Database.commit_apart``): holding the
    tenant's row until the caller commits made every creation of a tenant wait for the one
    before it. A creation that fails leaves a gap in the numbers, never a duplicate.
    """
    statement = numbers_statement(tenant_id, count)
    database: Database | None = session.info.get("database")
    if database is not None and database.can_commit_apart:
        reserved = database.commit_apart(statement)
        if reserved is not None:
            return int(reserved)
    return int(session.execute(statement).scalar_one())


def open_incident(
    session: Session,
    *,
    parcel: Parcel,
    type: str,
    source: str,
    actor: Actor,
    now: datetime,
    next_step: NextStep,
    description: str | None = None,
    customer_reported_at: datetime | None = None,
    detected_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Incident:
    incident_row, entry_row = opening_values(
        parcel=parcel,
        number=next_number(session, parcel.tenant_id),
        type=type,
        source=source,
        actor=actor,
        now=now,
        next_step=next_step,
        description=description,
        customer_reported_at=customer_reported_at,
        detected_at=detected_at,
        details=details,
    )
    incident = Incident(**incident_row)
    session.add(incident)
    session.flush()
    session.add(TimelineEntry(**entry_row))
    emit_incident_event(session, "incident.opened", incident, parcel, now)
    return incident


# every column the caller does not give (status, version, ...) as ``Incident(...)`` fills it
_INCIDENT_DEFAULTS: dict[str, Any] = {
    name: field.default
    for name, field in Incident.model_fields.items()
    if field.default_factory is None and not field.is_required()
}


def opening_values(
    *,
    parcel: Parcel,
    number: int,
    type: str,
    source: str,
    actor: Actor,
    now: datetime,
    next_step: NextStep,
    description: str | None = None,
    customer_reported_at: datetime | None = None,
    detected_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new incident and its first timeline entry, as their columns' values, built without the
    database: the ORM path above and the one on a plain connection (``app.incidents.opening``)
    write the same rows from them."""
    incident: dict[str, Any] = {
        **_INCIDENT_DEFAULTS,
        "id": uuid.uuid4(),
        "tenant_id": parcel.tenant_id,
        "number": number,
        "parcel_id": parcel.id,
        "type": type,
        "source": source,
        "description": description,
        "customer_reported_at": customer_reported_at,
        "detected_at": detected_at,
        "opened_at": now,
        "next_step_action": next_step.action,
        "next_step_due_at": next_step.due_at,
        "created_at": now,
        "updated_at": now,
    }
    # the incident is new: its first entry starts the chain, no earlier entry to look up
    opened = chained_values(
        tenant_id=parcel.tenant_id,
        incident_id=incident["id"],
        after=None,
        kind="opened",
        actor=actor,
        summary=f"{type} incident opened ({source}); next step: {next_step.action} "
        f"by {iso_utc(next_step.due_at)}",
        now=now,
        data={
            "type": type,
            "source": source,
            "description": description,
            "customer_reported_at": customer_reported_at,
            "detected_at": detected_at,
            "next_step": next_step.model_dump(mode="json"),
            **(details or {}),
        },
    )
    return incident, opened


def get_incident(
    session: Session, *, tenant_id: uuid.UUID, incident_id: uuid.UUID, lock: bool = False
) -> Incident:
    query = select(Incident).where(Incident.id == incident_id, Incident.tenant_id == tenant_id)
    incident = session.exec(query.with_for_update() if lock else query).first()
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    return incident


# built once: reading an incident is the hottest path, and building costs as much as running
_WITH_PARCEL = (
    select(Incident, Parcel)
    .join(Parcel, col(Parcel.id) == col(Incident.parcel_id))
    .where(
        col(Incident.id) == bindparam("incident_id"),
        col(Incident.tenant_id) == bindparam("tenant_id"),
    )
)
_WITH_PARCEL_LOCKED = _WITH_PARCEL.with_for_update(of=Incident)


def get_incident_with_parcel(
    session: Session, *, tenant_id: uuid.UUID, incident_id: uuid.UUID, lock: bool = False
) -> tuple[Incident, Parcel]:
    """The incident and its parcel in one round trip; ``lock`` locks the incident's row only."""
    query = _WITH_PARCEL_LOCKED if lock else _WITH_PARCEL
    row = session.exec(query, params={"incident_id": incident_id, "tenant_id": tenant_id}).first()
    if row is None:
        raise NotFound(f"incident {incident_id} not found")
    return row[0], row[1]


def update_incident(
    session: Session,
    *,
    incident: Incident,
    expected_version: int,
    patch: IncidentUpdate,
    actor: Actor,
    now: datetime,
) -> Incident:
    """Apply a PATCH if nobody changed the incident since ``expected_version`` (else 412).

    The owner (``assignee``) is not a column edit: ``app.incidents.assignment`` sets it."""
    if incident.version != expected_version:
        raise _stale(incident)
    fields = patch.model_dump(exclude_unset=True, exclude={"assignee"})
    values = _column_values(incident, fields)
    changes = {
        name: {"from": getattr(incident, name), "to": value}
        for name, value in values.items()
        if getattr(incident, name) != value
    }
    if not changes:
        return incident
    save(session, incident, expected_version, {k: v["to"] for k, v in changes.items()}, now)
    step_columns = {"next_step_action", "next_step_due_at"}
    edited = sorted(set(changes) - step_columns)
    if edited:
        append_entry(
            session,
            tenant_id=incident.tenant_id,
            incident_id=incident.id,
            kind="updated",
            actor=actor,
            summary="Updated " + ", ".join(edited),
            now=now,
            data={"changes": {k: changes[k] for k in edited}},
        )
    if step_columns & set(changes):
        _log_next_step(session, incident, actor, now)
    return incident


def _column_values(incident: Incident, fields: dict[str, Any]) -> dict[str, Any]:
    """Map PATCH fields to columns; refuse to clear what must always be present."""
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "type" and value is None:
            raise ValidationFailed("type", "cannot be cleared")
        if name == "next_step":
            if value is None and incident.status != "resolved":
                raise ValidationFailed("next_step", "an unresolved incident always has a next step")
            values["next_step_action"] = value["action"] if value else None
            values["next_step_due_at"] = value["due_at"] if value else None
        elif name == "compensation":
            for column in _COMPENSATION_COLUMNS:
                values[f"compensation_{column}"] = value.get(column) if value else None
        else:
            values[name] = value
    return values


def transition_incident(
    session: Session, *, incident: Incident, body: TransitionCreate, actor: Actor, now: datetime
) -> Incident:
    """Move the incident; ``incident`` must have been loaded with ``lock=True``."""
    allowed = TRANSITIONS[incident.status]
    if body.to not in allowed:
        raise Conflict(
            f"an incident that is {incident.status} cannot become {body.to}",
            allowed=sorted(allowed),
        )
    resolving, reopening = body.to == "resolved", incident.status == "resolved"
    if resolving and body.resolution is None:
        raise ValidationFailed("resolution", "required to resolve an incident")
    if body.resolution is not None and not resolving:
        raise ValidationFailed("resolution", "only allowed when resolving")
    if reopening and not body.reason:
        raise ValidationFailed("reason", "required to reopen an incident")
    if resolving:
        check_resolution(session, incident, body)
    values: dict[str, Any] = {"status": body.to}
    if resolving:
        values |= {"resolution": body.resolution, "resolved_at": now}
        values |= {"next_step_action": None, "next_step_due_at": None}
    elif body.next_step is not None or reopening:
        step = body.next_step or NextStep(
            action="Review why the incident was reopened and answer the customer",
            due_at=now + timedelta(hours=24),
        )
        values |= {"next_step_action": step.action, "next_step_due_at": step.due_at}
    if reopening:
        values |= {"resolution": None, "resolved_at": None}
    previous = incident.status
    save(session, incident, incident.version, values, now)
    summary = f"Status {previous} -> {body.to}"
    if body.resolution:
        summary += f" ({body.resolution})"
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="status_changed",
        actor=actor,
        summary=summary + (f": {body.reason}" if body.reason else ""),
        now=now,
        data={
            "from": previous,
            "to": body.to,
            "resolution": body.resolution,
            "reason": body.reason,
        },
    )
    if "next_step_action" in values and not resolving:
        _log_next_step(session, incident, actor, now)
    parcel = session.get(Parcel, incident.parcel_id)
    assert parcel is not None
    if resolving:
        disarm_detection(session, parcel, resolution=body.resolution or "", now=now)
    elif reopening:
        rearm_detection(session, parcel, now=now)
    event = "incident.reopened" if reopening else STATUS_EVENTS.get(body.to)
    if event:
        emit_incident_event(session, event, incident, parcel, now)
    return incident


SETTLING_RESOLUTIONS = frozenset(
    {"refunded", "partially_refunded", "reshipped", "compensated", "cancelled"}
)


def disarm_detection(session: Session, parcel: Parcel, *, resolution: str, now: datetime) -> None:
    """A resolved incident stays resolved until the parcel moves again.

    =================================== ================================================
    resolution                          automatic incidents for the parcel afterwards
    =================================== ================================================
    refunded, partially_refunded,       none, ever: the order is settled (a reshipment
    reshipped, compensated, cancelled   is a new parcel with its own tracking number)
    delivered, rejected                 none until a scan newer than the resolution
                                        arrives; then, once the parcel goes quiet again
                                        past its threshold, a new one
    =================================== ================================================

    Reopening the incident undoes this (``rearm_detection``).
    """
    if resolution in SETTLING_RESOLUTIONS:
        parcel.detection_settled_at = now
    parcel.detection_rearm_after = max(now, parcel.last_scan_at or now)
    parcel.stuck_check_at = None  # the next new scan schedules the next check
    session.add(parcel)


def rearm_detection(session: Session, parcel: Parcel, *, now: datetime) -> None:
    """The incident was reopened: the order is not settled after all; judge the parcel again."""
    parcel.detection_settled_at = None
    parcel.detection_rearm_after = None
    stuck_checks.schedule(session, parcel=parcel, now=now)


def check_resolution(session: Session, incident: Incident, body: TransitionCreate) -> None:
    """``rejected`` needs substantiated=false and a reason; money, the approved compensation."""
    if body.resolution == "rejected":
        if incident.substantiated is not False:
            raise ValidationFailed(
                "resolution", "rejected needs the complaint judged not substantiated first"
            )
        if not body.reason:
            raise ValidationFailed("reason", "required to reject a complaint: say why")
    if body.resolution in MONEY_RESOLUTIONS and incident.compensation_kind not in REFUND_KINDS:
        raise _unapproved(f"{body.resolution} needs an approved refund compensation; propose one")
    carries = body.resolution in APPLIES_COMPENSATION and incident.compensation_kind is not None
    if carries and not process.covers(process.latest_proposal(session, incident.id), incident):
        raise _unapproved(
            "the incident's compensation is not approved (or changed since it was): "
            "propose it and have it approved first"
        )


def _unapproved(message: str) -> Conflict:
    return Conflict(message, errors=[{"field": "resolution", "message": message}])


def note_first_response(session: Session, incident: Incident, at: datetime, now: datetime) -> None:
    """The first time someone answered the customer: a logged contact or an outbound message."""
    if incident.first_response_at is None:
        save(session, incident, incident.version, {"first_response_at": at}, now)


def log_action(
    session: Session, *, incident: Incident, body: ActionCreate, actor: Actor, now: datetime
) -> None:
    """Record what someone did; the first customer contact is the first response."""
    occurred_at = body.occurred_at or now
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed("occurred_at", "an action cannot have happened in the future")
    if body.kind == "customer_contacted":
        note_first_response(session, incident, occurred_at, now)
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind=body.kind,
        actor=actor,
        summary=body.text[:1000],
        now=now,
        occurred_at=occurred_at,
        data={"text": body.text},
    )


def save(
    session: Session,
    incident: Incident,
    expected_version: int,
    values: dict[str, Any],
    now: datetime,
) -> None:
    statement = (
        update(Incident)
        .where(Incident.id == incident.id, Incident.version == expected_version)  # type: ignore[arg-type]
        .values(**values, version=col(Incident.version) + 1, updated_at=now)
        .returning(col(Incident.version))
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).first() is None:  # someone else changed it first
        raise _stale(incident)
    session.refresh(incident)


def _stale(incident: Incident) -> PreconditionFailed:
    return PreconditionFailed(
        "the incident changed since you read it; GET it again and reapply your change",
        current_etag=etag(incident),
    )


def _log_next_step(session: Session, incident: Incident, actor: Actor, now: datetime) -> None:
    due = iso_utc(incident.next_step_due_at) if incident.next_step_due_at else None
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="next_step_set",
        actor=actor,
        summary=f"Next step: {incident.next_step_action} by {due}",
        now=now,
        data={"action": incident.next_step_action, "due_at": due},
    )


def emit_incident_event(
    session: Session, type: str, incident: Incident, parcel: Parcel, now: datetime
) -> None:
    emit(
        session,
        type=type,
        occurred_at=now,
        tenant_id=incident.tenant_id,
        parcel_id=parcel.id,
        incident_id=incident.id,
        payload=incident_event_payload(incident, parcel, now),
    )


def incident_event_payload(
    incident: Incident, parcel: Parcel, now: datetime, parcel_json: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An incident event's payload; ``parcel_json``: ``parcel_payload(parcel)``, when the
    caller has it already (detection puts the same parcel in two events)."""
    return {
        "incident": incident_view(incident, parcel, now=now).model_dump(mode="json"),
        "parcel": parcel_json if parcel_json is not None else parcel_payload(parcel),
    }


def incident_event_payload_text(
    incident: Incident, parcel: Parcel, now: datetime, view: IncidentRead | None = None
) -> str:
    """``incident_event_payload`` as ``emit`` stores it, written by pydantic's encoder
    (``encoded_view``) rather than through a tree of dicts: the same text, sooner. ``view``:
    the incident's ``incident_view`` at ``now``, when the caller has built it already."""
    view = view or incident_view(incident, parcel, now=now)
    return f'{{"incident":{encoded_view(view)},"parcel":{encoded_view(parcel_view(parcel))}}}'


def etag(incident: Incident) -> str:
    return f'"{incident.id}.{incident.version}"'
