"""Compensation proposals and the four-eyes rule; where an incident is in the process.

A proposal worth more than the tenant's threshold (``RT_APPROVAL_THRESHOLD``, per tenant
``RT_APPROVAL_THRESHOLDS``; 0 = always) waits for a decision by someone who may approve (a key
with ``incidents:approve``, a supervisor at the desk) and is not the proposer: not the same key,
not the same person. What a compensation is worth: its amount; a percentage of the order's declared
value; a reshipment is worth the declared value. When we cannot tell (no declared value, or
another currency than the threshold's: nothing is converted) it needs approval.

An incident may be resolved with a compensation only while the incident's compensation is
exactly what the latest proposal carried and that proposal is ``approved`` or
``not_required`` ("covered"): editing the compensation afterwards voids the approval.

This module imports no incident or view code, so ``views`` can ask it for the process step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from app.core.actors import Actor
from app.core.errors import Conflict, Forbidden
from app.core.settings import Settings
from app.incidents.models import CompensationProposal, Incident
from app.incidents.process import (
    APPROVED,
    NOT_REQUIRED,
    PENDING,
    REJECTED,
    SUPERSEDED,
    latest_proposal,
)
from app.incidents.schemas import Compensation, CompensationRead
from app.parcels.models import Parcel
from app.workflow.schemas import ProposalRead


class SelfApproval(Forbidden):
    """The proposer (the same key, the same person) may not approve or reject its proposal."""

    slug = "self-approval"


@dataclass(frozen=True, slots=True)
class Valuation:
    value: Decimal | None
    currency: str | None
    threshold: Decimal
    needs_approval: bool
    reason: str


def threshold_for(settings: Settings, tenant_slug: str) -> Decimal:
    return settings.approval_thresholds.get(tenant_slug, settings.approval_threshold)


def value_of(compensation: Compensation, parcel: Parcel) -> tuple[Decimal | None, str | None]:
    """What the compensation costs the seller, in the currency it is in (None: unknown)."""
    if compensation.amount is not None:
        return compensation.amount, compensation.currency
    declared = parcel.declared_value
    if declared is None or parcel.currency is None:
        return None, None
    if compensation.percent is not None:
        return (declared * compensation.percent / 100).quantize(Decimal("0.001")), parcel.currency
    if compensation.kind in ("refund", "reshipment"):
        return declared, parcel.currency
    return None, None


def assess(
    compensation: Compensation, parcel: Parcel, *, threshold: Decimal, currency: str | None
) -> Valuation:
    """Whether a supervisor must approve; ``currency`` unset means the order's currency."""
    value, value_currency = value_of(compensation, parcel)
    wanted = currency or parcel.currency
    if threshold == 0:
        return Valuation(value, value_currency, threshold, True, "every compensation (threshold 0)")
    if value is None:
        return Valuation(value, value_currency, threshold, True, "its value cannot be determined")
    if wanted is None or value_currency != wanted:
        reason = f"it is in {value_currency}, the threshold in {wanted or 'no currency'}"
        return Valuation(value, value_currency, threshold, True, reason)
    if value > threshold:
        return Valuation(value, value_currency, threshold, True, f"{value} > {threshold} {wanted}")
    return Valuation(value, value_currency, threshold, False, f"{value} <= {threshold} {wanted}")


def proposals_of(session: Session, incident_id: uuid.UUID) -> list[CompensationProposal]:
    return list(
        session.exec(
            select(CompensationProposal)
            .where(CompensationProposal.incident_id == incident_id)
            .order_by(col(CompensationProposal.seq))
        )
    )


def add_proposal(
    session: Session,
    *,
    incident: Incident,
    solution: str,
    compensation: Compensation | None,
    valuation: Valuation | None,
    proposer: Actor,
    now: datetime,
) -> CompensationProposal:
    """Store a proposal; one still pending is superseded (the latest proposal counts)."""
    earlier = latest_proposal(session, incident.id)
    if earlier is not None and earlier.status == PENDING:
        earlier.status = SUPERSEDED
        session.add(earlier)
    needs = valuation.needs_approval if valuation is not None else False
    proposal = CompensationProposal(
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        seq=earlier.seq + 1 if earlier is not None else 1,
        solution=solution,
        kind=compensation.kind if compensation else None,
        amount=compensation.amount if compensation else None,
        currency=compensation.currency if compensation else None,
        percent=compensation.percent if compensation else None,
        value=valuation.value if valuation else None,
        value_currency=valuation.currency if valuation else None,
        threshold=valuation.threshold if valuation else None,
        needs_approval=needs,
        status=PENDING if needs else NOT_REQUIRED,
        proposed_by=proposer.name,
        proposed_by_type=proposer.type,
        proposed_by_id=proposer.id,
        created_at=now,
    )
    session.add(proposal)
    session.flush()
    return proposal


def decide(
    session: Session,
    *,
    proposal: CompensationProposal | None,
    approve: bool,
    decider: Actor,
    reason: str | None,
    now: datetime,
) -> CompensationProposal:
    """Approve or reject the pending proposal; never by whoever proposed it."""
    if proposal is None or proposal.status != PENDING:
        state = proposal.status if proposal else "none"
        raise Conflict(f"no compensation is waiting for approval (latest: {state})", latest=state)
    if proposal.proposer.same_as(decider):
        raise SelfApproval(
            f"a compensation must be approved or rejected by someone else than the "
            f"{decider.type.replace('_', ' ')} that proposed it",
            proposed_by=proposal.proposed_by,
        )
    proposal.status = APPROVED if approve else REJECTED
    proposal.decided_by, proposal.decided_by_type = decider.name, decider.type
    proposal.decided_by_id = decider.id
    proposal.decided_at = now
    proposal.decision_reason = reason
    session.add(proposal)
    session.flush()
    return proposal


def proposal_view(proposal: CompensationProposal) -> ProposalRead:
    compensation = (
        CompensationRead(
            kind=proposal.kind,
            amount=proposal.amount,
            currency=proposal.currency,
            percent=proposal.percent,
        )
        if proposal.kind
        else None
    )
    return ProposalRead(
        id=proposal.id,
        seq=proposal.seq,
        solution=proposal.solution,
        compensation=compensation,
        value=proposal.value,
        value_currency=proposal.value_currency,
        threshold=proposal.threshold,
        needs_approval=proposal.needs_approval,
        status=proposal.status,
        proposed_by=proposal.proposer.view(),
        decided_by=decider.view() if (decider := proposal.decider) else None,
        decided_at=proposal.decided_at,
        decision_reason=proposal.decision_reason,
        created_at=proposal.created_at,
    )
