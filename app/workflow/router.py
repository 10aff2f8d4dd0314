"""The complaint process of an incident: one POST per step, and where the incident is.

Approving or rejecting a compensation needs the ``incidents:approve`` scope and another key
than the proposer's; every other step needs ``incidents:write``. An action out of turn is a
409 naming ``process_step``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SessionDep, SettingsDep, require
from app.api.one_thread import OneThreadRoute
from app.core.actors import Actor
from app.core.tenancy import Principal
from app.incidents.service import get_incident_with_parcel
from app.workflow import service as workflow
from app.workflow.schemas import (
    AssessmentCreate,
    DecisionCreate,
    DepartmentCreate,
    ExecutionCreate,
    LessonsCreate,
    ProcessRead,
    ProposalCreate,
    RejectionCreate,
    RootCauseCreate,
)

router = APIRouter(
    prefix="/v1/incidents/{incident_id}/process", tags=["process"], route_class=OneThreadRoute
)
ApproveDep = Annotated[Principal, Depends(require("incidents:approve"))]


@router.get("", response_model=ProcessRead)
def get_process(
    incident_id: uuid.UUID, principal: ReadDep, session: SessionDep, now: NowDep
) -> ProcessRead:
    """The step the incident is at, what each step decided, and every proposal made."""
    incident, parcel = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    return workflow.process_view(session, incident, parcel, now)


@router.post("/assessment", response_model=ProcessRead)
def assess(
    incident_id: uuid.UUID,
    body: AssessmentCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> ProcessRead:
    """Is the complaint substantiated? (a reason is required either way)"""
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.assess(
            session, incident=incident, body=body, actor=Actor.api_key(principal), now=now
        ),
    )


@router.post("/department", response_model=ProcessRead)
def assign_department(
    incident_id: uuid.UUID,
    body: DepartmentCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> ProcessRead:
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.assign_department(
            session, incident=incident, body=body, actor=Actor.api_key(principal), now=now
        ),
    )


@router.post("/root-cause", response_model=ProcessRead)
def set_root_cause(
    incident_id: uuid.UUID,
    body: RootCauseCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> ProcessRead:
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.set_root_cause(
            session, incident=incident, body=body, actor=Actor.api_key(principal), now=now
        ),
    )


@router.post("/proposal", response_model=ProcessRead)
def propose(
    incident_id: uuid.UUID,
    body: ProposalCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> ProcessRead:
    """Propose the solution and compensation; above the threshold it waits for approval."""
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.propose(
            session,
            incident=incident,
            parcel=parcel,
            body=body,
            actor=Actor.api_key(principal),
            tenant_slug=principal.tenant_slug,
            settings=settings,
            now=now,
        ),
    )


@router.post("/approval", response_model=ProcessRead)
def approve(
    incident_id: uuid.UUID,
    body: DecisionCreate,
    principal: ApproveDep,
    session: SessionDep,
    now: NowDep,
) -> ProcessRead:
    """Approve the pending compensation (not with the key that proposed it: 403)."""
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.decide(
            session,
            incident=incident,
            parcel=parcel,
            approve=True,
            body=body,
            actor=Actor.api_key(principal),
            now=now,
        ),
    )


@router.post("/rejection", response_model=ProcessRead)
def reject(
    incident_id: uuid.UUID,
    body: RejectionCreate,
    principal: ApproveDep,
    session: SessionDep,
    now: NowDep,
) -> ProcessRead:
    """Reject it with a reason: it goes back to the proposer as the next step."""
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.decide(
            session,
            incident=incident,
            parcel=parcel,
            approve=False,
            body=body,
            actor=Actor.api_key(principal),
            now=now,
        ),
    )


@router.post("/execution", response_model=ProcessRead)
def execute(
    incident_id: uuid.UUID,
    body: ExecutionCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> ProcessRead:
    """Record what was done and the message that told the customer; resolves the incident."""
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.execute(
            session, incident=incident, body=body, actor=Actor.api_key(principal), now=now
        ),
    )


@router.post("/lessons", response_model=ProcessRead)
def record_lessons(
    incident_id: uuid.UUID,
    body: LessonsCreate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
) -> ProcessRead:
    return workflow.take_step(
        session,
        tenant_id=principal.tenant_id,
        incident_id=incident_id,
        now=now,
        act=lambda incident, parcel: workflow.record_lessons(
            session, incident=incident, body=body, actor=Actor.api_key(principal), now=now
        ),
    )
