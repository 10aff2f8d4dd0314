"""An incident's owner: a user of its tenant, or nobody.

Assigning (or unassigning) writes a timeline entry and an ``incident.assigned`` event in the
caller's transaction, like every other change. An owner must be a user of the incident's
tenant who is not disabled; anyone else is a 422 naming ``assignee`` (the same answer for
"no such user" and "another tenant's user": the answer does not tell which).

Nobody is ever assigned automatically: an escalated incident without an owner is what the
supervisor's queue shows (``assignee is null and status == escalated``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.core.actors import Actor
from app.core.errors import ValidationFailed
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.incidents.schemas import IncidentUpdate
from app.incidents.timeline import append_entry
from app.incidents.views import assignee_view, incident_view
from app.outbox.events import emit
from app.parcels.models import Parcel
from app.parcels.service import parcel_payload
from app.people.models import User

FIELD = "assignee"


def find_assignee(session: Session, *, tenant_id: uuid.UUID, ref: str) -> User:
    """The user ``ref`` names, by id or e-mail (any case), checked as an owner."""
    try:
        user = session.get(User, uuid.UUID(ref))
    except ValueError:
        user = session.exec(
            select(User).where(User.tenant_id == tenant_id, User.email == ref.strip().lower())
        ).first()
    if user is None or user.tenant_id != tenant_id:
        raise ValidationFailed(FIELD, f"{ref!r} is not a user of this tenant")
    check_owner(user, tenant_id=tenant_id)
    return user


def check_owner(user: User, *, tenant_id: uuid.UUID) -> None:
    if user.tenant_id != tenant_id:
        raise ValidationFailed(FIELD, f"{user.email} is not a user of this tenant")
    if not user.is_active:
        raise ValidationFailed(FIELD, f"{user.email} is disabled and cannot own incidents")


def assign(
    session: Session, incident: Incident, user: User | None, actor: Actor, now: datetime
) -> Incident:
    """Make ``user`` the owner (None: nobody). No change, no entry and no event."""
    if user is not None:
        check_owner(user, tenant_id=incident.tenant_id)
    previous = incident.assignee
    if (previous.id if previous else None) == (user.id if user else None):
        return incident
    incidents.save(
        session, incident, incident.version, {"assignee_id": user.id if user else None}, now
    )
    change = {"from": _person(previous), "to": _person(user)}
    if user is not None:
        summary = f"Assigned to {user.display_name}"
        summary += f" (was {previous.display_name})" if previous else ""
    else:
        summary = f"Unassigned (was {previous.display_name})" if previous else "Unassigned"
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="assigned" if user else "unassigned",
        actor=actor,
        summary=summary,
        now=now,
        data=change,
    )
    parcel = session.get(Parcel, incident.parcel_id)
    assert parcel is not None
    emit(
        session,
        type="incident.assigned",
        occurred_at=now,
        tenant_id=incident.tenant_id,
        parcel_id=parcel.id,
        incident_id=incident.id,
        payload={
            "incident": incident_view(incident, parcel, now=now).model_dump(mode="json"),
            "parcel": parcel_payload(parcel),
            "assignment": {**change, "by": actor.as_json()},
        },
    )
    return incident


def update_incident(
    session: Session,
    *,
    incident: Incident,
    expected_version: int,
    patch: IncidentUpdate,
    actor: Actor,
    now: datetime,
) -> Incident:
    """A PATCH with or without ``assignee``: the owner is checked before anything is written."""
    owner_given = FIELD in patch.model_fields_set
    owner = (
        find_assignee(session, tenant_id=incident.tenant_id, ref=patch.assignee)
        if owner_given and patch.assignee is not None
        else None
    )
    incidents.update_incident(
        session,
        incident=incident,
        expected_version=expected_version,
        patch=patch,
        actor=actor,
        now=now,
    )
    if owner_given:
        assign(session, incident, owner, actor, now)
    return incident


def _person(user: User | None) -> dict[str, Any] | None:
    view = assignee_view(user)
    return view.model_dump(mode="json") if view else None
