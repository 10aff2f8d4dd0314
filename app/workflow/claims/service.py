"""Carrier claims: ``draft -> filed -> approved | partially_approved | rejected``, then ``paid``.

A claim must reach the carrier within its window: the filing deadline is the ship date (the
parcel's ``shipped_at``, else when it was registered with us) plus the window for that carrier
and claim type (``RT_CLAIM_WINDOWS``; the README says which windows are confirmed). Carriers
count some windows from delivery, which is later, so counting from the ship date errs on the
early side. A claim not yet filed is flagged ``deadline_near`` within
``RT_CLAIM_DEADLINE_WARNING_DAYS``. Each change is a timeline entry and a ``claim.*`` event.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from adapters import registry
from app.core.actors import Actor
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.schemas import EARLIEST_YEAR, LATEST_YEAR, money_text
from app.core.settings import DEFAULT_CLAIM_WINDOWS, Settings
from app.evidence.models import EvidenceFile
from app.incidents.models import Incident
from app.incidents.timeline import append_entry
from app.incidents.views import incident_view
from app.outbox.events import emit
from app.parcels.models import Parcel
from app.workflow.claims.models import CarrierClaim
from app.workflow.claims.schemas import ClaimCreate, ClaimRead, ClaimTransitionCreate

CLAIM_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"filed"}),
    "filed": frozenset({"approved", "partially_approved", "rejected"}),
    "approved": frozenset({"paid"}),
    "partially_approved": frozenset({"paid"}),
    "rejected": frozenset(),
    "paid": frozenset(),
}


def window_days(settings: Settings, carrier: str, claim_type: str) -> int:
    """The configured window, else our default for the carrier, else the general default."""
    for windows in (settings.claim_windows, DEFAULT_CLAIM_WINDOWS):
        days = windows.get(carrier, {}).get(claim_type)
        if days is not None:
            return days
    return settings.claim_window_default_days


def _ship_date(parcel: Parcel) -> datetime:
    return parcel.shipped_at or parcel.created_at


def _filing_deadline(shipped_at: datetime, days: int) -> datetime:
    """The ship date plus the window. The API takes ship dates within its years only, but a
    parcel stored before that rule could hold 9999-12-31, where the sum overflows: a 422."""
    if not EARLIEST_YEAR <= shipped_at.year <= LATEST_YEAR:
        raise ValidationFailed(
            "parcel.shipped_at",
            f"the parcel's ship date {shipped_at.date().isoformat()} is outside the years "
            f"{EARLIEST_YEAR} to {LATEST_YEAR}, so no filing deadline can be counted from it",
        )
    return shipped_at + timedelta(days=days)


def _evidence_ids(session: Session, incident: Incident, ids: list[uuid.UUID]) -> list[str]:
    found = set(
        session.exec(
            select(EvidenceFile.id).where(
                col(EvidenceFile.id).in_(ids),
                EvidenceFile.incident_id == incident.id,
                col(EvidenceFile.deleted_at).is_(None),
            )
        )
    )
    for index, evidence_id in enumerate(ids):
        if evidence_id not in found:
            raise ValidationFailed(
                f"evidence_ids.{index}", f"{evidence_id} is not evidence of this incident"
            )
    return [str(evidence_id) for evidence_id in dict.fromkeys(ids)]


def create_claim(
    session: Session,
    *,
    incident: Incident,
    parcel: Parcel,
    body: ClaimCreate,
    actor: Actor,
    settings: Settings,
    now: datetime,
) -> CarrierClaim:
    """Draft a claim against the carrier; ``incident`` must be locked."""
    carrier = body.carrier or parcel.carrier
    if carrier not in registry.ADAPTERS:
        raise ValidationFailed("carrier", f"unknown carrier {carrier!r}")
    shipped_at = _ship_date(parcel)
    claim = CarrierClaim(
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        carrier=carrier,
        claim_type=body.claim_type,
        amount=body.amount,
        currency=body.currency,
        evidence_ids=json.dumps(_evidence_ids(session, incident, body.evidence_ids)),
        description=body.description,
        shipped_at=shipped_at,
        filing_deadline=_filing_deadline(
            shipped_at, window_days(settings, carrier, body.claim_type)
        ),
        created_by=actor.name,
        created_by_type=actor.type,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(claim)
    session.flush()
    _record(
        session,
        incident,
        parcel,
        claim,
        "created",
        actor,
        settings,
        now,
        f"Carrier claim drafted: {body.claim_type}, {money_text(body.amount, body.currency)} "
        f"{body.currency} against "
        f"{carrier}; file by {claim.filing_deadline.date().isoformat()}",
    )
    return claim


def transition_claim(
    session: Session,
    *,
    incident: Incident,
    parcel: Parcel,
    claim: CarrierClaim,
    body: ClaimTransitionCreate,
    actor: Actor,
    settings: Settings,
    now: datetime,
) -> CarrierClaim:
    """Move the claim on; ``incident`` must be locked (claims change under its lock)."""
    allowed = CLAIM_TRANSITIONS[claim.status]
    if body.to not in allowed:
        raise Conflict(
            f"a claim that is {claim.status} cannot become {body.to}", allowed=sorted(allowed)
        )
    at = body.occurred_at or now
    detail = ""
    if body.to == "filed":
        if not body.carrier_reference:
            raise ValidationFailed("carrier_reference", "the carrier's claim reference is required")
        claim.carrier_reference, claim.filed_at = body.carrier_reference, at
        detail = f" (reference {body.carrier_reference})"
    elif body.to in ("approved", "partially_approved"):
        claim.approved_amount = _approved_amount(claim, body)
        claim.decided_at = at
        detail = f": {money_text(claim.approved_amount, claim.currency)} {claim.currency}"
    elif body.to == "rejected":
        if not body.reason:
            raise ValidationFailed("reason", "say why the carrier rejected the claim")
        claim.decided_at, claim.decision_reason = at, body.reason
        detail = f": {body.reason}"
    else:  # paid
        claim.paid_amount = body.amount or claim.approved_amount
        claim.paid_at = at
        detail = f": {money_text(claim.paid_amount, claim.currency)} {claim.currency}"
    if body.reason and body.to != "rejected":
        claim.decision_reason = body.reason
    claim.status, claim.updated_at = body.to, now
    session.add(claim)
    session.flush()
    summary = f"Carrier claim {body.to.replace('_', ' ')}{detail}"
    _record(session, incident, parcel, claim, body.to, actor, settings, now, summary)
    return claim


def _approved_amount(claim: CarrierClaim, body: ClaimTransitionCreate) -> Decimal:
    if body.to == "approved":
        return body.amount or claim.amount
    if body.amount is None:
        raise ValidationFailed("amount", "the amount the carrier approved is required")
    if body.amount >= claim.amount:
        raise ValidationFailed("amount", "below the claimed amount; otherwise it is approved")
    return body.amount


def _record(
    session: Session,
    incident: Incident,
    parcel: Parcel,
    claim: CarrierClaim,
    change: str,
    actor: Actor,
    settings: Settings,
    now: datetime,
    summary: str,
) -> None:
    view = claim_view(claim, settings, now).model_dump(mode="json")
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind=f"claim_{change}",
        actor=actor,
        summary=summary,
        now=now,
        data={"claim": view},
    )
    emit(
        session,
        type=f"claim.{change}",
        occurred_at=now,
        tenant_id=incident.tenant_id,
        parcel_id=parcel.id,
        incident_id=incident.id,
        payload={
            "claim": view,
            "incident": incident_view(incident, parcel, now=now).model_dump(mode="json"),
        },
    )


def _ship_date_of(claim: CarrierClaim) -> datetime:
    return claim.shipped_at or claim.created_at


def list_claims(
    session: Session,
    *,
    incident_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[CarrierClaim]:
    query = select(CarrierClaim).where(CarrierClaim.incident_id == incident_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            (col(CarrierClaim.created_at) > at)
            | ((col(CarrierClaim.created_at) == at) & (col(CarrierClaim.id) > last_id))
        )
    query = query.order_by(col(CarrierClaim.created_at), col(CarrierClaim.id))
    return list(session.exec(query.limit(limit) if limit else query))


def get_claim(session: Session, *, incident_id: uuid.UUID, claim_id: uuid.UUID) -> CarrierClaim:
    claim = session.get(CarrierClaim, claim_id)
    if claim is None or claim.incident_id != incident_id:
        raise NotFound(f"claim {claim_id} not found")
    return claim


def claim_view(claim: CarrierClaim, settings: Settings, now: datetime) -> ClaimRead:
    remaining = claim.filing_deadline - now
    days_left = remaining.days  # floor: 0 means "less than a day"
    unfiled = claim.status == "draft"
    return ClaimRead(
        id=claim.id,
        incident_id=claim.incident_id,
        carrier=claim.carrier,
        claim_type=claim.claim_type,
        amount=claim.amount,
        currency=claim.currency,
        status=claim.status,
        carrier_reference=claim.carrier_reference,
        approved_amount=claim.approved_amount,
        paid_amount=claim.paid_amount,
        evidence_ids=[uuid.UUID(value) for value in json.loads(claim.evidence_ids)],
        description=claim.description,
        decision_reason=claim.decision_reason,
        shipped_at=claim.shipped_at,
        filing_deadline=claim.filing_deadline,
        claim_window_days=(claim.filing_deadline - _ship_date_of(claim)).days,
        days_left=days_left,
        deadline_near=unfiled
        and remaining >= timedelta(0)
        and remaining <= timedelta(days=settings.claim_deadline_warning_days),
        deadline_passed=unfiled and remaining < timedelta(0),
        created_by=claim.creator.view(),
        created_at=claim.created_at,
        updated_at=claim.updated_at,
        filed_at=claim.filed_at,
        decided_at=claim.decided_at,
        paid_at=claim.paid_at,
    )
