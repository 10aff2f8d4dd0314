"""Carrier claims on the incident page: the list with each claim's filing deadline, a form to
draft one, and a button for each move the claim's transition table allows.

Each form calls the claims service ``POST /v1/incidents/{id}/claims`` and its ``transitions``
twin call, under the incident's lock, so the desk writes the same timeline entries and
``claim.*`` events as the API. The moves offered come from ``CLAIM_TRANSITIONS``, the table the
service checks; a move sent anyway from a stale page is refused there (a 409 page).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlmodel import Session

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.carriers.service import carrier_codes
from app.core.schemas import money_text
from app.desk.actor import desk_actor
from app.desk.incident.forms import back, checked, local_moment
from app.desk.web.auth import Desk, PostDep
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.parcels.models import Parcel
from app.workflow.claims import service as claims
from app.workflow.claims.schemas import ClaimCreate, ClaimRead, ClaimTransitionCreate, ClaimType

router = APIRouter(prefix="/incidents/{incident_id}/claims", route_class=UnitOfWorkRoute)
ANCHOR = "#claims"
CLAIM_TYPES: tuple[str, ...] = ClaimType.__args__  # type: ignore[attr-defined]
# what each move's button says, in the order a claim meets them
MOVE_LABELS: dict[str, str] = {
    "filed": "Mark filed",
    "approved": "Approved in full",
    "partially_approved": "Partially approved",
    "rejected": "Rejected",
    "paid": "Mark paid",
}


@dataclass(frozen=True, slots=True)
class ClaimOnPage:
    """A claim as the API reads it, with the moves its status allows now."""

    view: ClaimRead
    moves: list[str]


def claims_context(
    session: Session, desk: Desk, incident: Incident, parcel: Parcel
) -> dict[str, object]:
    """What ``_claims.html`` shows: the claims, oldest first, and the create form's defaults."""
    rows = claims.list_claims(session, incident_id=incident.id)
    return {
        "claims": [
            ClaimOnPage(
                view=claims.claim_view(row, desk.settings, desk.now),
                moves=sorted(claims.CLAIM_TRANSITIONS[row.status], key=_move_order),
            )
            for row in rows
        ],
        "claim_types": CLAIM_TYPES,
        "claim_type_default": incident.type if incident.type in CLAIM_TYPES else "lost",
        "claim_amount_default": money_text(parcel.declared_value, parcel.currency) or "",
        "claim_carriers": carrier_codes(),
        "move_labels": MOVE_LABELS,
    }


def _move_order(move: str) -> tuple[int, str]:
    """The order a claim meets its moves; one the labels do not know yet comes last."""
    known = list(MOVE_LABELS)
    return (known.index(move) if move in known else len(known), move)


def _decimal_text(raw: str | None) -> str | None:
    """``59,90`` as ``59.90`` (a comma is how half of Europe types it); empty as nothing."""
    value = (raw or "").strip().replace(",", ".")
    return value or None


@router.post("")
def create_claim(
    incident_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    claim_type: Annotated[ClaimType, Form()],
    amount: Annotated[str, Form(max_length=20)],
    currency: Annotated[str, Form(max_length=3)],
    carrier: Annotated[str | None, Form(max_length=32)] = None,
    evidence_ids: Annotated[list[uuid.UUID] | None, Form()] = None,
    description: Annotated[str | None, Form(max_length=10_000)] = None,
) -> Response:
    """Draft a claim, citing the incident's evidence files ticked on the form."""
    incident, parcel = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, lock=True
    )
    body = checked(
        ClaimCreate,
        claim_type=claim_type,
        amount=_decimal_text(amount),
        currency=currency,
        carrier=carrier or None,
        evidence_ids=evidence_ids or [],
        description=(description or "").strip() or None,
    )
    claims.create_claim(
        session,
        incident=incident,
        parcel=parcel,
        body=body,
        actor=desk_actor(desk.user),
        settings=desk.settings,
        now=desk.now,
    )
    return back(incident_id, ANCHOR)


@router.post("/{claim_id}/transitions")
def move_claim(
    incident_id: uuid.UUID,
    claim_id: uuid.UUID,
    desk: PostDep,
    session: SessionDep,
    to: Annotated[str, Form(max_length=24)],
    carrier_reference: Annotated[str | None, Form(max_length=100)] = None,
    amount: Annotated[str | None, Form(max_length=20)] = None,
    reason: Annotated[str | None, Form(max_length=2000)] = None,
    occurred_at: Annotated[str | None, Form(max_length=40)] = None,
) -> Response:
    """The carrier's answer: filed with its reference, approved (in part), rejected, paid."""
    incident, parcel = incidents.get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id, lock=True
    )
    claim = claims.get_claim(session, incident_id=incident.id, claim_id=claim_id)
    body = checked(
        ClaimTransitionCreate,
        to=to,
        carrier_reference=(carrier_reference or "").strip() or None,
        amount=_decimal_text(amount),
        reason=(reason or "").strip() or None,
        occurred_at=local_moment(occurred_at, desk, "occurred_at") if occurred_at else None,
    )
    claims.transition_claim(
        session,
        incident=incident,
        parcel=parcel,
        claim=claim,
        body=body,
        actor=desk_actor(desk.user),
        settings=desk.settings,
        now=desk.now,
    )
    return back(incident_id, ANCHOR)
