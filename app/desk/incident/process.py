"""The complaint process on the incident page: one form per step, each calling the workflow
service its ``POST /v1/incidents/{id}/process/<step>`` twin calls.

Approve and Reject are shown to supervisors only, and refused (403) to anyone whose role does
not allow approving compensation (``app.people.roles.can``), whatever the form says.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlmodel import Session

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.core.errors import Forbidden, ValidationFailed
from app.desk.actor import desk_actor, tenant_slug
from app.desk.incident.forms import back, checked
from app.desk.web.auth import Desk, PostDep
from app.incidents.models import Incident
from app.incidents.schemas import Compensation, CompensationKind, Resolution, RootCause
from app.parcels.models import Parcel
from app.workflow import service as workflow
from app.workflow.schemas import (
    AssessmentCreate,
    DecisionCreate,
    DepartmentCreate,
    ExecutionCreate,
    LessonsCreate,
    ProposalCreate,
    RejectionCreate,
    RootCauseCreate,
)

router = APIRouter(prefix="/incidents/{incident_id}/process", route_class=UnitOfWorkRoute)
ANCHOR = "#process"
# a workflow step such as workflow.assess: (session, *, incident, body, actor, now)
Step = Callable[..., Any]


def _step(
    desk: Desk, session: Session, incident_id: uuid.UUID, step: Step, body: object
) -> Response:
    """One process step the way its API twin takes it: under the incident's lock, as the
    signed-in person; then back to the process on the page."""
    workflow.take_step(
        session,
        tenant_id=desk.user.tenant_id,
        incident_id=incident_id,
        now=desk.now,
        act=lambda incident, parcel: step(
            session, incident=incident, body=body, actor=desk_actor(desk.user), now=desk.now
        ),
    )
    return back(incident_id, ANCHOR)


@router.post("/assessment")
def assess(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    substantiated: Annotated[bool, Form()],
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:
    body = checked(AssessmentCreate, substantiated=substantiated, reason=reason)
    return _step(desk, session, incident_id, workflow.assess, body)


@router.post("/department")
def department(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    department: Annotated[str, Form(max_length=100)],
) -> Response:
    body = checked(DepartmentCreate, department=department)
    return _step(desk, session, incident_id, workflow.assign_department, body)


@router.post("/root-cause")
def root_cause(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    root_cause: Annotated[RootCause, Form()],
    detail: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    body = checked(RootCauseCreate, root_cause=root_cause, detail=detail or None)
    return _step(desk, session, incident_id, workflow.set_root_cause, body)


def _money(raw: str | None, field: str) -> Decimal | None:
    if not raw or not raw.strip():
        return None
    try:
        return Decimal(raw.strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationFailed(field, "a number, such as 15.00") from None


@router.post("/proposal")
def propose(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    solution: Annotated[str, Form(max_length=10_000)],
    kind: Annotated[CompensationKind | None, Form()] = None,
    amount: Annotated[str | None, Form(max_length=20)] = None,
    currency: Annotated[str | None, Form(max_length=3)] = None,
    percent: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    compensation = (
        checked(
            Compensation,
            kind=kind,
            amount=_money(amount, "amount"),
            currency=(currency or "").upper() or None,
            percent=_money(percent, "percent"),
        )
        if kind
        else None
    )
    body = checked(ProposalCreate, solution=solution, compensation=compensation)
    slug = tenant_slug(session, desk.user)

    def act(incident: Incident, parcel: Parcel) -> object:
        return workflow.propose(
            session,
            incident=incident,
            parcel=parcel,
            body=body,
            actor=desk_actor(desk.user),
            tenant_slug=slug,
            settings=desk.settings,
            now=desk.now,
        )

    workflow.take_step(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, now=desk.now, act=act
    )
    return back(incident_id, ANCHOR)


@router.post("/decision")
def decide(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Approve or reject the pending compensation: supervisors (and admins) only."""
    if not desk.may_approve:
        raise Forbidden("only a supervisor may approve or reject a compensation")
    approve = decision == "approve"
    body = (
        checked(DecisionCreate, note=note or None)
        if approve
        else checked(RejectionCreate, reason=note or "")
    )

    def act(incident: Incident, parcel: Parcel) -> object:
        return workflow.decide(
            session,
            incident=incident,
            parcel=parcel,
            approve=approve,
            body=body,
            actor=desk_actor(desk.user),
            now=desk.now,
        )

    workflow.take_step(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, now=desk.now, act=act
    )
    return back(incident_id, ANCHOR)


@router.post("/execution")
def execute(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    resolution: Annotated[Resolution, Form()],
    summary: Annotated[str, Form(max_length=2000)],
    message_id: Annotated[uuid.UUID, Form()],
    reason: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    body = checked(
        ExecutionCreate,
        resolution=resolution,
        summary=summary,
        message_id=message_id,
        reason=reason or None,
    )
    return _step(desk, session, incident_id, workflow.execute, body)


@router.post("/lessons")
def lessons(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    lessons_learned: Annotated[str, Form(max_length=10_000)],
) -> Response:
    body = checked(LessonsCreate, lessons_learned=lessons_learned)
    return _step(desk, session, incident_id, workflow.record_lessons, body)
