"""The dispute evidence pack of an incident: the PDF a reviewer reads, or a ZIP with the files."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.api.deps import NowDep, ReadDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.db.engine import Database
from app.dispute_pack import pack as evidence_pack
from app.dispute_pack import pdf as evidence_pdf
from app.incidents.service import get_incident_with_parcel

router = APIRouter(
    prefix="/v1/incidents/{incident_id}", tags=["evidence"], route_class=OneThreadRoute
)


@router.get(
    "/evidence-pack",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "application/zip": {}}}},
)
def get_evidence_pack(
    incident_id: uuid.UUID,
    request: Request,
    principal: ReadDep,
    settings: SettingsDep,
    now: NowDep,
    format: Annotated[Literal["pdf", "zip"], Query()] = "pdf",
) -> Response:
    """The PDF to attach to a dispute; ``?format=zip`` adds the files and a JSON export."""
    db: Database = request.app.state.db
    with db.session() as session:  # read, then render with no transaction held
        incident, parcel = get_incident_with_parcel(
            session, tenant_id=principal.tenant_id, incident_id=incident_id
        )
        pack = evidence_pack.collect(
            session, incident=incident, parcel=parcel, settings=settings, now=now
        )
    pdf = evidence_pdf.render_pdf(pack)
    stem = evidence_pack.file_stem(pack)
    if format == "pdf":
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"'},
        )
    path: Path = evidence_pack.write_zip(pack, pdf, settings)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{stem}.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
