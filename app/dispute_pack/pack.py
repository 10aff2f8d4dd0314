"""The dispute evidence pack: everything a seller attaches to a PayPal, marketplace or card
dispute, gathered once and written as a PDF (``evidence_pdf``), or as a ZIP holding that PDF,
the evidence files and a JSON export of the same facts.

The pack states whether the timeline's hash chain verifies; a pack made from an altered
record says so on its first page rather than hiding it.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app.core.models import Tenant
from app.core.settings import Settings
from app.evidence import service as evidence
from app.evidence.models import EvidenceFile
from app.incidents import timeline
from app.incidents.models import Incident
from app.incidents.views import incident_view
from app.parcels import service as parcels
from app.parcels.models import Parcel
from app.workflow import approvals
from app.workflow.claims import service as claims
from app.workflow.messages import service as messages
from app.workflow.messages.views import message_view


@dataclass(frozen=True, slots=True)
class EvidencePack:
    """The facts of one incident as plain JSON-ready data (the PDF and the ZIP share them)."""

    generated_at: datetime
    store_name: str
    incident: dict[str, Any]
    parcel: dict[str, Any]
    scans: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    verification: dict[str, Any]
    messages: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    files: list[EvidenceFile]

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "store_name": self.store_name,
            "incident": self.incident,
            "parcel": self.parcel,
            "scans": self.scans,
            "timeline": self.timeline,
            "timeline_verification": self.verification,
            "messages": self.messages,
            "evidence": self.evidence,
            "claims": self.claims,
            "compensation_proposals": self.proposals,
        }


def collect(
    session: Session, *, incident: Incident, parcel: Parcel, settings: Settings, now: datetime
) -> EvidencePack:
    entries = timeline.entries_for(session, incident.id)
    verdict = timeline.verify_chain(entries)
    files = evidence.list_evidence(session, incident_id=incident.id)
    tenant = session.get(Tenant, incident.tenant_id)
    return EvidencePack(
        generated_at=now,
        store_name=tenant.name if tenant else "",
        incident=incident_view(incident, parcel, now=now).model_dump(mode="json"),
        parcel=parcels.parcel_view(parcel).model_dump(mode="json"),
        scans=[
            parcels.scan_view(s).model_dump(mode="json")
            for s in parcels.scans_of(session, parcel.id)
        ],
        timeline=[_entry_json(e) for e in entries],
        verification={
            "valid": verdict.valid,
            "entries": verdict.entries,
            "head_hash": verdict.head_hash,
            "first_broken_seq": verdict.first_broken_seq,
            "reason": verdict.reason,
        },
        messages=[
            message_view(m).model_dump(mode="json")
            for m in messages.list_messages(session, incident_id=incident.id)
        ],
        evidence=[evidence.evidence_view(f).model_dump(mode="json") for f in files],
        claims=[
            claims.claim_view(c, settings, now).model_dump(mode="json")
            for c in claims.list_claims(session, incident_id=incident.id)
        ],
        proposals=[
            approvals.proposal_view(p).model_dump(mode="json")
            for p in approvals.proposals_of(session, incident.id)
        ],
        files=files,
    )


def _entry_json(entry: Any) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.isoformat(),
        "recorded_at": entry.recorded_at.isoformat(),
        "kind": entry.kind,
        "actor": entry.actor.as_json(),
        "summary": entry.summary,
        "data": timeline.decode_data(entry),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def file_stem(pack: EvidencePack) -> str:
    return f"evidence-pack-{pack.incident['number']}"


def write_zip(pack: EvidencePack, pdf: bytes, settings: Settings) -> Path:
    """A temporary ZIP (the caller deletes it): the PDF, incident.json, evidence/<files>."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  (handed to the response, then deleted)
        prefix="rt-pack-", suffix=".zip", delete=False
    )
    path = Path(handle.name)
    handle.close()
    stem = file_stem(pack)
    names: dict[str, str] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}/{stem}.pdf", pdf)
        for row in pack.files:
            name = f"{stem}/evidence/{row.sha256[:12]}-{row.file_name}"
            names[str(row.id)] = name.split("/", 1)[1]
            source = evidence.file_path(settings, row)
            if source.is_file():  # stored media is already compressed
                archive.write(source, name, compress_type=zipfile.ZIP_STORED)
        document = pack.as_json()
        for item in document["evidence"]:
            item["path_in_zip"] = names.get(item["id"])
        archive.writestr(
            f"{stem}/incident.json", json.dumps(document, indent=2, ensure_ascii=False)
        )
    return path
