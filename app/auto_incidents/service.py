"""Incidents the scheduler opens, escalates and resolves on its own.

Exactly one open automatic incident per parcel, whatever the number of scheduler processes:
rows go in with ``INSERT ... ON CONFLICT DO NOTHING`` against a partial unique index, and
their timeline entries and events are written only for rows that were really inserted.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from adapters.base import ScanStatus
from app.core.calendars import add_business_days
from app.db.upsert import insert_ignore_many
from app.incidents import service as incidents
from app.incidents.models import Incident, TimelineEntry
from app.incidents.schemas import ACTION_MAX_CHARS, NextStep, TransitionCreate
from app.incidents.timeline import SYSTEM, append_entry, chained_entry
from app.outbox.events import emit
from app.parcels.models import Parcel
from app.parcels.service import carrier_name_of, parcel_payload
from app.stuck.verdict import Verdict, rule_name

AUTO_RESOLVED_TYPES = frozenset({"delay", "customs", "lost", "delivery_failed", "tracking_error"})
_EXCEPTION_TYPES = (  # words in a carrier's exception text -> incident type
    (("address", "addressee", "moved"), "wrong_address"),
    (("damage", "broken", "crushed"), "damaged"),
    (("return", "refused", "rejected"), "returned"),
    (("customs", "duties", "clearance"), "customs"),
    (("lost", "missing"), "lost"),
)


AT_ONCE_TYPES: dict[str, str] = {
    "returned": "returned",
    "delivery_failed": "delivery_failed",
    "customs_action": "customs",
}
# why a parcel goes back, from the carrier's words (exception reason, description)
RETURN_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("address", "addressee", "moved", "unknown recipient", "no such"), "wrong_address"),
    (("duties", "duty", "tax", "customs charges", "unpaid", "payment"), "duties_unpaid"),
    (("refused", "rejected", "declined"), "refused"),
    (("not collected", "unclaimed", "not picked up", "uncollected", "collection period"),
     "not_collected"),
)  # fmt: skip
RETURN_STEPS = {
    "wrong_address": "Confirm the delivery address with the customer, then reship (or refund) "
    "once the parcel is back.",
    "duties_unpaid": "Ask the customer whether they will pay the import duties; offer a "
    "reshipment with duties prepaid or a refund less the return costs.",
    "refused": "Ask the customer why the parcel was refused; refund or reship as your policy "
    "says once it is back.",
    "not_collected": "Tell the customer the parcel was not collected and is on its way back; "
    "offer a reshipment or a refund.",
    "other": "Ask the carrier why the parcel is being returned, tell the customer, and offer "
    "a reshipment or a refund.",
}
# the message the desk suggests for each automatic incident type (app/workflow/templates)
SUGGESTED_TEMPLATES = {
    "delay": "delay_notice",
    "customs": "delay_notice",
    "lost": "parcel_lost",
    "returned": "parcel_returned",
    "delivery_failed": "in_transit_update",
    "tracking_error": "in_transit_update",
}


def return_reason(text: str) -> str:
    """``wrong_address``, ``duties_unpaid``, ``refused``, ``not_collected`` or ``other``."""
    lowered = text.lower()
    for words, reason in RETURN_REASONS:
        if any(word in lowered for word in words):
            return reason
    return "other"


def _carrier_words(parcel: Parcel) -> str:
    return " ".join(t for t in (parcel.last_exception_reason, parcel.last_scan_description) if t)


def incident_type_for(verdict: Verdict, parcel: Parcel) -> str:
    if verdict.kind == "presumed_lost":
        return "lost"
    if verdict.kind in AT_ONCE_TYPES:
        return AT_ONCE_TYPES[verdict.kind]
    if parcel.status == ScanStatus.CUSTOMS_HOLD:
        return "customs"
    if parcel.status == ScanStatus.EXCEPTION:
        text = (parcel.last_scan_description or "").lower()
        for words, kind in _EXCEPTION_TYPES:
            if any(word in text for word in words):
                return kind
    return "delay"


def _day(moment: datetime) -> str:
    return f"{moment:%d %b}".lstrip("0")


def _quoting(before: str, carrier_text: str, after: str) -> str:
    """A next step quoting the carrier's words, shortened (…) so the step fits its 500
    characters: a carrier's description may take all of its own 500, and a step too long
    would fail the whole detect-stuck batch, every tick, instead of opening the incident."""
    room = ACTION_MAX_CHARS - len(before) - len(after)
    if len(carrier_text) > room:
        carrier_text = carrier_text[: max(0, room - 1)].rstrip() + "…"
    return before + carrier_text + after


def next_step_for(verdict: Verdict, parcel: Parcel, now: datetime) -> NextStep:
    carrier = carrier_name_of(parcel)
    number = parcel.tracking_number
    due = add_business_days(now, 1, verdict.country)
    if verdict.kind == "presumed_lost":
        return NextStep(
            action=f"File a claim with {carrier} for {number}: no scan since "
            f"{_day(verdict.since)}, presumed lost.",
            due_at=due,
        )
    if verdict.kind == "returned":
        reason = return_reason(_carrier_words(parcel))
        return NextStep(
            action=f"{carrier} is returning {number}. {RETURN_STEPS[reason]}", due_at=due
        )
    if verdict.kind == "delivery_failed":
        return NextStep(
            action=f"{carrier} could not deliver {number} ({parcel.failed_attempts} attempts): "
            "confirm the address and a good time with the customer, and tell the carrier.",
            due_at=due,
        )
    if verdict.kind == "customs_action":
        return NextStep(
            action=_quoting(
                f"Customs holds {number} and asks for payment or documents (",
                parcel.last_scan_description or "customs hold",
                "): tell the customer what to send or pay, or send the documents yourself.",
            ),
            due_at=due,
        )
    if verdict.kind == "exception":
        return NextStep(
            action=_quoting(
                f"Contact {carrier} about {number}: the carrier reported a problem (",
                parcel.last_scan_description or "exception",
                "). Tell the customer what happens next.",
            ),
            due_at=due,
        )
    assert verdict.threshold is not None
    claim_by = ""
    if verdict.lost_threshold is not None:
        lost_at = add_business_days(
            verdict.since, verdict.lost_threshold.business_days, verdict.country
        )
        claim_by = f" If no movement by {_day(lost_at)}, file a carrier claim."
    return NextStep(
        action=f"Contact {carrier} about {number}: no scan since {_day(verdict.since)} "
        f"({verdict.elapsed_business_days:.0f} business days, threshold "
        f"{verdict.threshold.business_days:g}).{claim_by}",
        due_at=due,
    )


def rule_data(verdict: Verdict, parcel: Parcel) -> dict[str, object]:
    data: dict[str, object] = {
        "rule": rule_name(verdict),
        "kind": verdict.kind,
        "since": verdict.since,
        "country": verdict.country,
        "elapsed_business_days": round(verdict.elapsed_business_days, 2),
        "threshold_business_days": verdict.threshold.business_days if verdict.threshold else None,
        "lost_threshold_business_days": (
            verdict.lost_threshold.business_days if verdict.lost_threshold else None
        ),
    }
    if verdict.kind == "returned":
        data["return_reason"] = return_reason(_carrier_words(parcel))
    if verdict.kind == "delivery_failed":
        data["failed_attempts"] = parcel.failed_attempts
    return data


def open_tracking_error(session: Session, *, parcel: Parcel, now: datetime) -> Incident | None:
    """The carrier keeps failing for this one number: a ``tracking_error`` incident, unless an
    automatic incident of the parcel is open already (then it says nothing new)."""
    carrier = carrier_name_of(parcel)
    step = NextStep(
        action=f"{carrier} cannot answer for {parcel.tracking_number} "
        f"({parcel.last_poll_error or 'no answer'}): check the number with the customer or "
        "the shipping label, and correct it or the carrier.",
        due_at=add_business_days(now, 1, parcel.destination_country or parcel.origin_country),
    )
    incident_id = uuid.uuid4()
    number = next(reserve_numbers(session, [parcel.tenant_id])[parcel.tenant_id])
    row = incident_row(
        incident_id, parcel, number=number, type="tracking_error", step=step, now=now
    )
    if not insert_ignore_many(session, Incident.__table__, [row]):  # type: ignore[attr-defined]
        return None
    incident = session.get(Incident, incident_id)
    assert incident is not None
    entry = chained_entry(
        tenant_id=parcel.tenant_id,
        incident_id=incident_id,
        after=None,
        kind="opened",
        actor=SYSTEM,
        summary=f"tracking_error incident opened automatically: {parcel.poll_errors} polls in a "
        f"row failed for this number while {carrier} answered others; next step: {step.action}",
        now=now,
        data={
            "type": "tracking_error",
            "source": "auto",
            "detection": {
                "rule": "a number failing alone",
                "failed_polls": parcel.poll_errors,
                "last_error": parcel.last_poll_error,
            },
            "next_step": step.model_dump(mode="json"),
            "suggested_template": SUGGESTED_TEMPLATES["tracking_error"],
        },
    )
    session.add(entry)
    incidents.emit_incident_event(session, "incident.opened", incident, parcel, now)
    return incident


def incident_row(
    incident_id: uuid.UUID, parcel: Parcel, *, number: int, type: str, step: NextStep, now: datetime
) -> dict[str, object]:
    """An automatic incident's row, for ``INSERT ... ON CONFLICT DO NOTHING``."""
    return {
        "id": incident_id,
        "tenant_id": parcel.tenant_id,
        "number": number,
        "parcel_id": parcel.id,
        "type": type,
        "source": "auto",
        "status": "open",
        "detected_at": now,
        "opened_at": now,
        "next_step_action": step.action,
        "next_step_due_at": step.due_at,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def reserve_numbers(
    session: Session, tenant_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Iterator[int]]:
    """Consecutive human numbers per tenant, one UPDATE per tenant however many are needed."""
    wanted = Counter(tenant_ids)
    reserved: dict[uuid.UUID, Iterator[int]] = {}
    for tenant_id, count in wanted.items():
        last = incidents.next_number(session, tenant_id, count=count)
        reserved[tenant_id] = iter(range(last - count + 1, last + 1))
    return reserved


def escalate_as_lost(
    session: Session, *, incident: Incident, parcel: Parcel, verdict: Verdict, now: datetime
) -> None:
    """Presumed lost: type lost, escalated, next step a carrier claim."""
    if incident.type == "lost" and incident.status == "escalated":
        return
    step = next_step_for(verdict, parcel, now)
    if incident.type != "lost":
        incidents.save(session, incident, incident.version, {"type": "lost"}, now)
    if incident.status != "escalated":
        incidents.transition_incident(
            session,
            incident=incident,
            body=TransitionCreate(to="escalated", next_step=step, reason="presumed lost"),
            actor=SYSTEM,
            now=now,
        )


def reclassify(
    session: Session, *, incident: Incident, parcel: Parcel, verdict: Verdict, now: datetime
) -> bool:
    """An open automatic incident whose parcel now needs another kind of answer (a delay that
    became a return, or repeated failed attempts): its type and next step follow; True if so."""
    kind = incident_type_for(verdict, parcel)
    if verdict.kind not in AT_ONCE_TYPES or incident.type == kind:
        return False
    step = next_step_for(verdict, parcel, now)
    previous = incident.type
    incidents.save(
        session,
        incident,
        incident.version,
        {"type": kind, "next_step_action": step.action, "next_step_due_at": step.due_at},
        now,
    )
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="reclassified",
        actor=SYSTEM,
        summary=f"{previous} -> {kind}: {rule_name(verdict)}; next step: {step.action}",
        now=now,
        data={
            "from": previous,
            "to": kind,
            "detection": rule_data(verdict, parcel),
            "next_step": step.model_dump(mode="json"),
            "suggested_template": SUGGESTED_TEMPLATES.get(kind),
        },
    )
    return True


def open_auto_incident_for(session: Session, parcel_id: uuid.UUID) -> Incident | None:
    return session.exec(
        select(Incident)
        .where(
            Incident.parcel_id == parcel_id,
            Incident.source == "auto",
            col(Incident.status) != "resolved",
        )
        .with_for_update()
    ).first()


def has_moved(newest_scan_at: datetime, previous_scan_at: datetime | None) -> bool:
    return previous_scan_at is None or newest_scan_at > previous_scan_at


def open_incidents_of(
    session: Session, parcel_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Incident]]:
    """The open incidents of many parcels, locked, in one query (in id order: no deadlocks)."""
    found: dict[uuid.UUID, list[Incident]] = {parcel_id: [] for parcel_id in parcel_ids}
    if not parcel_ids:
        return found
    rows = session.exec(
        select(Incident)
        .where(col(Incident.parcel_id).in_(parcel_ids), col(Incident.status) != "resolved")
        .order_by(col(Incident.id))
        .with_for_update()
    )
    for incident in rows:
        found[incident.parcel_id].append(incident)
    return found


def react_to_movement(
    session: Session,
    *,
    parcel: Parcel,
    newest_scan_at: datetime,
    previous_scan_at: datetime | None,
    now: datetime,
    open_incidents: Sequence[Incident] | None = None,
) -> None:
    """New scans on a parcel with open incidents: note it, resolve automatic ones on delivery.

    ``open_incidents``: the parcel's open incidents when the caller already read them for a
    whole batch (``open_incidents_of``).
    """
    if not has_moved(newest_scan_at, previous_scan_at):
        return
    if open_incidents is None:
        open_incidents = open_incidents_of(session, [parcel.id])[parcel.id]
    delivered = parcel.status == ScanStatus.DELIVERED
    for incident in open_incidents:
        if incident.source == "auto" and delivered and incident.type in AUTO_RESOLVED_TYPES:
            incidents.transition_incident(
                session,
                incident=incident,
                body=TransitionCreate(
                    to="resolved",
                    resolution="delivered",
                    reason=f"{carrier_name_of(parcel)} scanned it delivered",
                ),
                actor=SYSTEM,
                now=now,
            )
            continue
        summary = (
            f"Parcel delivered: {parcel.last_scan_description}"
            if delivered
            else f"Parcel moved again: {parcel.last_scan_description} "
            f"({parcel.last_scan_city or parcel.last_scan_country or 'location unknown'})"
        )
        append_entry(
            session,
            tenant_id=incident.tenant_id,
            incident_id=incident.id,
            kind="parcel_delivered" if delivered else "movement_resumed",
            actor=SYSTEM,
            summary=summary,
            now=now,
            data={"status": parcel.status, "scan_at": newest_scan_at},
        )
        if incident.source == "auto" and not delivered and not _resumed_before(session, incident):
            emit(
                session,
                type="parcel.movement_resumed",
                occurred_at=now,
                tenant_id=parcel.tenant_id,
                parcel_id=parcel.id,
                incident_id=incident.id,
                payload={"parcel": parcel_payload(parcel), "incident_id": str(incident.id)},
            )


def _resumed_before(session: Session, incident: Incident) -> bool:
    count = session.exec(
        select(TimelineEntry.id).where(
            TimelineEntry.incident_id == incident.id, TimelineEntry.kind == "movement_resumed"
        )
    ).all()
    return len(count) > 1  # the entry just written is one of them
