"""Build API representations from rows (shared by routers, events and exports)."""

from __future__ import annotations

from datetime import datetime

from app.incidents.models import Incident
from app.incidents.process import current_step
from app.incidents.schemas import AssigneeRead, CompensationRead, IncidentRead, NextStepRead
from app.parcels.models import Parcel
from app.parcels.service import customer_view, last_scan_view, tracking_url_of
from app.people.models import User


def format_number(number: int) -> str:
    return f"INC-{number:06d}"


def is_overdue(incident: Incident, now: datetime) -> bool:
    return (
        incident.status != "resolved"
        and incident.next_step_due_at is not None
        and incident.next_step_due_at < now
    )


def assignee_view(user: User | None) -> AssigneeRead | None:
    return AssigneeRead(id=user.id, name=user.display_name, email=user.email) if user else None


def incident_view(incident: Incident, parcel: Parcel, *, now: datetime) -> IncidentRead:
    next_step = (
        NextStepRead(action=incident.next_step_action, due_at=incident.next_step_due_at)
        if incident.next_step_action and incident.next_step_due_at
        else None
    )
    compensation = (
        CompensationRead(
            kind=incident.compensation_kind,
            amount=incident.compensation_amount,
            currency=incident.compensation_currency,
            percent=incident.compensation_percent,
        )
        if incident.compensation_kind
        else None
    )
    return IncidentRead(
        id=incident.id,
        number=format_number(incident.number),
        type=incident.type,
        source=incident.source,
        status=incident.status,
        resolution=incident.resolution,
        assignee=assignee_view(incident.assignee),
        parcel_id=parcel.id,
        order_id=parcel.order_id,
        order_date=parcel.order_date,
        customer=customer_view(parcel),
        carrier=parcel.carrier,
        tracking_number=parcel.tracking_number,
        tracking_url=tracking_url_of(parcel),
        last_tracking_update=last_scan_view(parcel),
        customer_reported_at=incident.customer_reported_at,
        detected_at=incident.detected_at,
        opened_at=incident.opened_at,
        first_response_at=incident.first_response_at,
        resolved_at=incident.resolved_at,
        description=incident.description,
        communication_summary=incident.communication_summary,
        next_step=next_step,
        overdue=is_overdue(incident, now),
        substantiated=incident.substantiated,
        responsible_department=incident.responsible_department,
        root_cause=incident.root_cause,
        proposed_solution=incident.proposed_solution,
        compensation=compensation,
        lessons_learned=incident.lessons_learned,
        process_step=current_step(incident),
        version=incident.version,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
    )
