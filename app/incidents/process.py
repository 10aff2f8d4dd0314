"""Where an incident is in the complaint process, and the compensation proposals that decide it.

The incident's own view needs the process step, so it lives beside the incident; the
workflow feature (``app.workflow``) moves incidents through the steps and owns the four-eyes
rule (``app.workflow.approvals``).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from app.incidents.models import CompensationProposal, Incident

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"

NOT_REQUIRED, SUPERSEDED = "not_required", "superseded"

CLEARED = frozenset({APPROVED, NOT_REQUIRED})


def latest_proposal(session: Session, incident_id: uuid.UUID) -> CompensationProposal | None:
    return session.exec(
        select(CompensationProposal)
        .where(CompensationProposal.incident_id == incident_id)
        .order_by(col(CompensationProposal.seq).desc())
        .limit(1)
    ).first()


def covers(proposal: CompensationProposal | None, incident: Incident) -> bool:
    """The incident's compensation is the one the latest proposal carried, and it is cleared."""
    if proposal is None or proposal.status not in CLEARED:
        return False
    return (
        proposal.kind == incident.compensation_kind
        and proposal.amount == incident.compensation_amount
        and proposal.currency == incident.compensation_currency
        and proposal.percent == incident.compensation_percent
    )


def process_step(incident: Incident, latest: CompensationProposal | None) -> str:
    """The step of the complaint process the incident is at (order in app/workflow/service.py)."""
    if incident.status == "resolved":
        return "done" if incident.lessons_learned else "lessons"
    if incident.substantiated is None:
        return "assessment"
    if incident.substantiated is False:
        return "execution"  # tell the customer why, resolve as rejected
    if not incident.responsible_department:
        return "department"
    if incident.root_cause is None:
        return "root_cause"
    if incident.proposed_solution is None:
        return "proposal"
    if latest is None:
        return "proposal" if incident.compensation_kind else "execution"
    if latest.status == PENDING:
        return "approval"
    return "execution" if covers(latest, incident) or not incident.compensation_kind else "proposal"


def current_step(incident: Incident) -> str:
    """``process_step`` with the latest proposal looked up only where it decides the answer."""
    needs_lookup = (
        incident.status != "resolved"
        and incident.substantiated is True
        and incident.proposed_solution is not None
        and bool(incident.responsible_department)
        and incident.root_cause is not None
    )
    session = object_session(incident) if needs_lookup else None
    latest = latest_proposal(session, incident.id) if isinstance(session, Session) else None
    return process_step(incident, latest)
