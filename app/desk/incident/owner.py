"""The incident's owner on the desk: a select of the tenant's active people (or nobody), and a
one-click "Take it".

Both post to one route that calls ``assign``, the service ``PATCH /v1/incidents/{id}`` with
``assignee`` calls, under the incident's lock, so the desk writes the same ``assigned`` /
``unassigned`` timeline entry and ``incident.assigned`` event. Someone who is not an active
person of the tenant (disabled, another tenant's, no one at all) is refused there: a 422 page.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlmodel import Session

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.core.models import Tenant
from app.desk.actor import desk_actor
from app.desk.incident.forms import back
from app.desk.web.auth import Desk, PostDep
from app.incidents import service as incidents
from app.incidents.assignment import assign, find_assignee
from app.people.models import User
from app.people.service import list_users

router = APIRouter(prefix="/incidents/{incident_id}", route_class=UnitOfWorkRoute)
NOBODY = ""


def owner_choices(session: Session, desk: Desk) -> list[User]:
    """The people who may own an incident: the tenant's, not disabled, by e-mail."""
    tenant = session.get(Tenant, desk.user.tenant_id)
    assert tenant is not None  # a user's tenant is a foreign key
    return [user for user in list_users(session, tenant=tenant) if user.is_active]


@router.post("/assignee")
def set_owner(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    assignee: Annotated[str, Form(max_length=320)] = NOBODY,
) -> Response:
    """``assignee`` is a person's id (the select, or "Take it" with one's own), empty: nobody."""
    incident, _ = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, lock=True
    )
    ref = assignee.strip()
    owner = find_assignee(session, tenant_id=incident.tenant_id, ref=ref) if ref else None
    assign(session, incident, owner, desk_actor(desk.user), desk.now)
    return back(incident_id)
