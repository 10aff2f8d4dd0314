"""The seller's complaint process: one explicit action per step, each a timeline entry.

    assessment   is the complaint substantiated? (not substantiated: straight to execution,
                 which resolves it as ``rejected`` with the reason)
    department   who is responsible (Warehouse, Logistics, a supplier, ...)
    root_cause   carrier_delay, customs_inspection, ..., lost_by_carrier, other
    proposal     the solution and its compensation (refund, partial refund, reshipment,
                 discount percent or coupon)
    approval     only when the compensation is worth more than the tenant's threshold: a key
                 with ``incidents:approve`` other than the proposer's approves, or rejects
                 with a reason, which sends it back to the proposer
    execution    carry it out, tell the customer (a recorded outbound message), resolve
    lessons      what to change so it does not happen again
    done

The step is not stored: it follows from the incident and its latest proposal
(``process.process_step``), so a PATCH of the same fields moves it consistently. An action
out of turn is a 409 naming the current step. Every action needs the incident locked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from app.core.actors import Actor
from app.core.errors import Conflict, ValidationFailed
from app.core.settings import Settings
from app.incidents import process
from app.incidents import service as incidents
from app.incidents.models import CompensationProposal, Incident
from app.incidents.schemas import TransitionCreate
from app.incidents.timeline import append_entry
from app.incidents.views import incident_view
from app.outbox.events import emit
from app.parcels.models import Parcel
from app.workflow import approvals
from app.workflow.approvals import proposal_view
from app.workflow.messages.service import get_message
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

STEPS = (
    "assessment",
    "department",
    "root_cause",
    "proposal",
    "approval",
    "execution",
    "lessons",
    "done",
)
_UNRESOLVED = frozenset(STEPS[:6])
DECISION_HOURS = 24


def take_step(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    incident_id: uuid.UUID,
    now: datetime,
    act: Callable[[Incident, Parcel], object],
) -> ProcessRead:
    """One step of the process: lock the incident, ``act`` on it, answer where it is now."""
    incident, parcel = incidents.get_incident_with_parcel(
        session, tenant_id=tenant_id, incident_id=incident_id, lock=True
    )
    act(incident, parcel)
    return process_view(session, incident, parcel, now)


def _expect(incident: Incident, action: str, steps: frozenset[str]) -> None:
    step = process.current_step(incident)
    if step not in steps:
        raise Conflict(
            f"cannot {action} while the incident is at the {step} step",
            process_step=step,
            allowed_steps=sorted(steps),
        )


def _entry(incident: Incident, kind: str, actor: Actor, summary: str, now: datetime) -> Any:
    return dict(
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind=kind,
        actor=actor,
        summary=summary,
        now=now,
    )


def _update(session: Session, incident: Incident, values: dict[str, Any], now: datetime) -> None:
    incidents.save(session, incident, incident.version, values, now)


def _next_step(action: str, now: datetime, hours: int = DECISION_HOURS) -> dict[str, Any]:
    return {"next_step_action": action[:500], "next_step_due_at": now + timedelta(hours=hours)}


def assess(
    session: Session, *, incident: Incident, body: AssessmentCreate, actor: Actor, now: datetime
) -> None:
    _expect(incident, "assess the complaint", _UNRESOLVED)
    _update(session, incident, {"substantiated": body.substantiated}, now)
    verdict = "substantiated" if body.substantiated else "not substantiated"
    append_entry(
        session,
        **_entry(incident, "assessed", actor, f"Complaint {verdict}: {body.reason}", now),
        data={"substantiated": body.substantiated, "reason": body.reason},
    )


def assign_department(
    session: Session, *, incident: Incident, body: DepartmentCreate, actor: Actor, now: datetime
) -> None:
    _expect(incident, "name the department", _UNRESOLVED - {"assessment"})
    _update(session, incident, {"responsible_department": body.department}, now)
    summary = f"Responsible department: {body.department}" + (
        f" ({body.note})" if body.note else ""
    )
    append_entry(
        session,
        **_entry(incident, "department_assigned", actor, summary, now),
        data={"department": body.department, "note": body.note},
    )


def set_root_cause(
    session: Session, *, incident: Incident, body: RootCauseCreate, actor: Actor, now: datetime
) -> None:
    _expect(incident, "record the root cause", _UNRESOLVED - {"assessment"})
    _update(session, incident, {"root_cause": body.root_cause}, now)
    summary = f"Root cause: {body.root_cause}" + (f" ({body.detail})" if body.detail else "")
    append_entry(
        session,
        **_entry(incident, "root_cause_identified", actor, summary, now),
        data={"root_cause": body.root_cause, "detail": body.detail},
    )


def propose(
    session: Session,
    *,
    incident: Incident,
    parcel: Parcel,
    body: ProposalCreate,
    actor: Actor,
    tenant_slug: str,
    settings: Settings,
    now: datetime,
) -> CompensationProposal:
    """Propose the solution; above the threshold it waits for someone else's approval."""
    if incident.substantiated is not True:
        raise Conflict(
            "only a substantiated complaint gets a solution; assess it first",
            process_step=process.current_step(incident),
        )
    _expect(incident, "propose a solution", frozenset({"proposal", "approval", "execution"}))
    comp = body.compensation
    valuation = None
    if comp is not None:
        valuation = approvals.assess(
            comp,
            parcel,
            threshold=approvals.threshold_for(settings, tenant_slug),
            currency=settings.approval_currency,
        )
    proposal = approvals.add_proposal(
        session,
        incident=incident,
        solution=body.solution,
        compensation=comp,
        valuation=valuation,
        proposer=actor,
        now=now,
    )
    values: dict[str, Any] = {
        "proposed_solution": body.solution,
        "compensation_kind": comp.kind if comp else None,
        "compensation_amount": comp.amount if comp else None,
        "compensation_currency": comp.currency if comp else None,
        "compensation_percent": comp.percent if comp else None,
    }
    waiting = proposal.status == process.PENDING
    values |= _next_step(
        f"Approve or reject the compensation proposed by {actor.name}"
        if waiting
        else f"Carry out the solution and tell the customer: {body.solution}",
        now,
    )
    _update(session, incident, values, now)
    summary = f"Solution proposed: {body.solution}"
    if valuation is not None:
        summary += (
            f"; needs approval ({valuation.reason})"
            if waiting
            else f"; no approval needed ({valuation.reason})"
        )
    view = proposal_view(proposal).model_dump(mode="json")
    append_entry(
        session,
        **_entry(incident, "solution_proposed", actor, summary, now),
        data={"proposal": view},
    )
    if comp is not None:
        _emit(session, "compensation.proposed", incident, parcel, view, now)
    return proposal


def decide(
    session: Session,
    *,
    incident: Incident,
    parcel: Parcel,
    approve: bool,
    body: DecisionCreate | RejectionCreate,
    actor: Actor,
    now: datetime,
) -> CompensationProposal:
    """A supervisor's decision; rejecting sends the proposal back to its proposer."""
    _expect(incident, "decide on the compensation", frozenset({"approval"}))
    reason = body.reason if isinstance(body, RejectionCreate) else body.note
    proposal = approvals.decide(
        session,
        proposal=process.latest_proposal(session, incident.id),
        approve=approve,
        decider=actor,
        reason=reason,
        now=now,
    )
    if approve:
        step = f"Carry out the approved solution and tell the customer: {proposal.solution}"
        summary = f"Compensation approved by {actor.name}" + (f": {reason}" if reason else "")
    else:
        step = f"{proposal.proposed_by}: revise the proposal ({reason})"
        summary = f"Compensation rejected by {actor.name}: {reason}"
    _update(session, incident, _next_step(step, now), now)
    view = proposal_view(proposal).model_dump(mode="json")
    kind = "compensation_approved" if approve else "compensation_rejected"
    append_entry(session, **_entry(incident, kind, actor, summary, now), data={"proposal": view})
    event = "compensation.approved" if approve else "compensation.rejected"
    _emit(session, event, incident, parcel, view, now)
    return proposal


def execute(
    session: Session, *, incident: Incident, body: ExecutionCreate, actor: Actor, now: datetime
) -> None:
    """Record what was done and how the customer was told, then resolve (resolve rules apply)."""
    _expect(incident, "execute the solution", frozenset({"execution"}))
    message = get_message(session, incident_id=incident.id, message_id=body.message_id)
    if message.direction != "out":
        raise ValidationFailed("message_id", "must be a message to the customer (direction out)")
    append_entry(
        session,
        **_entry(incident, "solution_executed", actor, f"Executed: {body.summary}", now),
        data={"summary": body.summary, "message_id": str(message.id), "told": message.summary},
    )
    incidents.transition_incident(
        session,
        incident=incident,
        body=TransitionCreate(to="resolved", resolution=body.resolution, reason=body.reason),
        actor=actor,
        now=now,
    )


def record_lessons(
    session: Session, *, incident: Incident, body: LessonsCreate, actor: Actor, now: datetime
) -> None:
    _update(session, incident, {"lessons_learned": body.lessons_learned}, now)
    append_entry(
        session,
        **_entry(incident, "lessons_recorded", actor, f"Lessons: {body.lessons_learned}", now),
        data={"lessons_learned": body.lessons_learned},
    )


def _emit(
    session: Session,
    type: str,
    incident: Incident,
    parcel: Parcel,
    proposal: dict[str, Any],
    now: datetime,
) -> None:
    emit(
        session,
        type=type,
        occurred_at=now,
        tenant_id=incident.tenant_id,
        parcel_id=parcel.id,
        incident_id=incident.id,
        payload={
            "proposal": proposal,
            "incident": incident_view(incident, parcel, now=now).model_dump(mode="json"),
        },
    )


def process_view(
    session: Session, incident: Incident, parcel: Parcel, now: datetime
) -> ProcessRead:
    proposals = approvals.proposals_of(session, incident.id)
    view = incident_view(incident, parcel, now=now)
    return ProcessRead(
        incident_id=incident.id,
        step=process.process_step(incident, proposals[-1] if proposals else None),
        steps=list(STEPS),
        substantiated=incident.substantiated,
        responsible_department=incident.responsible_department,
        root_cause=incident.root_cause,
        proposed_solution=incident.proposed_solution,
        compensation=view.compensation,
        proposals=[proposal_view(p) for p in proposals],
        lessons_learned=incident.lessons_learned,
        status=incident.status,
        resolution=incident.resolution,
    )
