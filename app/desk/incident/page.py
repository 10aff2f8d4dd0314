"""Everything the incident page shows, read with the services the API's GETs use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from sqlmodel import Session

from app.desk.incident.claims import claims_context
from app.desk.incident.owner import owner_choices
from app.desk.web.auth import Desk
from app.evidence import service as evidence
from app.evidence.schemas import EvidenceKind
from app.incidents import timeline
from app.incidents.models import Incident
from app.incidents.schemas import ActionKind, Resolution, RootCause
from app.incidents.service import TRANSITIONS
from app.incidents.views import incident_view
from app.parcels import service as parcels
from app.parcels.models import Parcel
from app.workflow import service as workflow
from app.workflow.messages import service as messages
from app.workflow.messages.schemas import Channel
from app.workflow.templates.catalogue import CATALOGUE, LANGUAGES
from app.workflow.templates.context import customer_language

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


@dataclass(frozen=True, slots=True)
class TimelineLine:
    """One line of the merged timeline: an entry (with its actor) or a carrier scan."""

    at: datetime
    kind: str
    actor: str
    summary: str
    is_scan: bool


def merged_timeline(session: Session, incident: Incident, parcel: Parcel) -> list[TimelineLine]:
    """Entries and scans by time, as ``GET /v1/incidents/{id}/timeline`` merges them."""
    lines = [
        TimelineLine(e.occurred_at, e.kind, e.actor.described(), e.summary, is_scan=False)
        for e in timeline.entries_for(session, incident.id)
    ]
    for scan in parcels.scans_of(session, parcel.id):
        place = ", ".join(p for p in (scan.city, scan.country) if p)
        summary = scan.description + (f" ({place})" if place else "")
        lines.append(TimelineLine(scan.occurred_at, scan.status, parcel.carrier, summary, True))
    lines.sort(key=lambda line: line.at)  # stable: entries keep their sequence order
    return lines


def incident_context(
    session: Session, desk: Desk, incident: Incident, parcel: Parcel
) -> dict[str, Any]:
    entries = timeline.entries_for(session, incident.id)
    files = evidence.list_evidence(session, incident_id=incident.id)
    process = workflow.process_view(session, incident, parcel, desk.now)
    # the incident's messages, and the notices its customer got outside any incident
    conversation = [
        m
        for m in messages.list_messages(session, parcel_id=parcel.id)
        if m.incident_id in (incident.id, None)
    ]
    return {
        "incident": incident_view(incident, parcel, now=desk.now),
        "incident_version": incident.version,
        "parcel": parcel,
        "timeline": merged_timeline(session, incident, parcel),
        "chain": timeline.verify_chain(entries),
        "moves": sorted(TRANSITIONS[incident.status]),
        "action_kinds": get_args(ActionKind),
        "resolutions": get_args(Resolution),
        "root_causes": get_args(RootCause),
        "channels": get_args(Channel),
        "evidence_kinds": get_args(EvidenceKind),
        "evidence": files,
        "image_types": IMAGE_TYPES,
        "templates": list(CATALOGUE.values()),
        "languages": LANGUAGES,
        "customer_language": customer_language(parcel.customer_locale),
        "process": process,
        "pending": next((p for p in process.proposals if p.status == "pending"), None),
        "outbound": [m for m in conversation if m.direction == "out" and m.incident_id],
        "sending_on": bool(desk.settings.smtp_host),
        "conversation": conversation,
        "owners": owner_choices(session, desk),
        **claims_context(session, desk, incident, parcel),
    }
