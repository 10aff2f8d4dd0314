"""``/desk/incidents/{id}``: the page, its evidence files, and the dispute pack downloads.

The downloads call the dispute pack's builder as ``GET /v1/incidents/{id}/evidence-pack``
does, with the session cookie instead of an API key.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlmodel import Session
from starlette.background import BackgroundTask

from app.api.deps import SessionDep
from app.api.request_unit import UnitOfWorkRoute
from app.desk.incident.page import IMAGE_TYPES, incident_context
from app.desk.web.auth import Desk, DeskDep
from app.desk.web.render import page
from app.dispute_pack import pack as evidence_pack
from app.dispute_pack import pdf as evidence_pdf
from app.evidence import service as evidence
from app.incidents.service import get_incident_with_parcel

router = APIRouter(prefix="/incidents/{incident_id}", route_class=UnitOfWorkRoute)


@router.get("", response_class=HTMLResponse)
def incident_page(
    incident_id: uuid.UUID, request: Request, desk: DeskDep, session: SessionDep
) -> HTMLResponse:
    incident, parcel = get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id
    )
    return page(
        request,
        "incident.html",
        desk,
        active="",
        **incident_context(session, desk, incident, parcel),
    )


@router.get("/evidence/{evidence_id}/content")
def evidence_file(
    incident_id: uuid.UUID, evidence_id: uuid.UUID, desk: DeskDep, session: SessionDep
) -> FileResponse:
    """The file as uploaded (thumbnails load it); the type was read from its content."""
    incident, _ = get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id
    )
    row = evidence.get_evidence(session, incident_id=incident.id, evidence_id=evidence_id)
    return FileResponse(
        evidence.file_path(desk.settings, row),
        media_type=row.content_type,
        filename=row.file_name,
        content_disposition_type="inline" if row.content_type in IMAGE_TYPES else "attachment",
        headers={"ETag": f'"{row.sha256}"', "Cache-Control": "private, max-age=3600"},
    )


def _pack(session: Session, desk: Desk, incident_id: uuid.UUID) -> evidence_pack.EvidencePack:
    """Read in the request's unit of work (the person was read there: on SQLite a second
    transaction would wait for it)."""
    incident, parcel = get_incident_with_parcel(
        session, tenant_id=desk.user.tenant_id, incident_id=incident_id
    )
    return evidence_pack.collect(
        session, incident=incident, parcel=parcel, settings=desk.settings, now=desk.now
    )


@router.get("/evidence-pack.pdf")
def pack_pdf(incident_id: uuid.UUID, desk: DeskDep, session: SessionDep) -> Response:
    pack = _pack(session, desk, incident_id)
    stem = evidence_pack.file_stem(pack)
    return Response(
        evidence_pdf.render_pdf(pack),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"'},
    )


@router.get("/evidence-pack.zip")
def pack_zip(incident_id: uuid.UUID, desk: DeskDep, session: SessionDep) -> FileResponse:
    pack = _pack(session, desk, incident_id)
    path: Path = evidence_pack.write_zip(pack, evidence_pdf.render_pdf(pack), desk.settings)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{evidence_pack.file_stem(pack)}.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
