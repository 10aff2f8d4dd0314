"""Evidence files of an incident: streamed multipart uploads, listing, download, deletion.

The upload is parsed as it arrives with python-multipart's streaming parser: the file part
goes straight to disk through ``UploadSink`` (cap, type and hash checked while reading), so
the whole file is never in memory. No transaction is held open while the client sends.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import get_args

import anyio
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SessionDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.api.pages import (
    PageSizeQuery,
    PageTokenQuery,
    keyset_page,
)
from app.core.actors import Actor
from app.core.errors import ValidationFailed
from app.core.schemas import Page
from app.core.settings import Settings
from app.db.engine import Database
from app.evidence import service as evidence
from app.evidence.schemas import EvidenceKind, EvidenceRead
from app.incidents.service import get_incident_with_parcel

router = APIRouter(
    prefix="/v1/incidents/{incident_id}", tags=["evidence"], route_class=OneThreadRoute
)
FIELD_LIMIT = 2000
MULTIPART_OVERHEAD = 64 * 1024  # headers, boundaries and the small text fields


class _EvidenceForm:
    """Callbacks for the streaming parser: one ``file`` part, and ``kind``/``description``."""

    def __init__(self, boundary: bytes, settings: Settings) -> None:
        self.settings = settings
        self.fields: dict[str, str] = {}
        self.file_name: str | None = None
        self.received: evidence.ReceivedFile | None = None
        self._sink: evidence.UploadSink | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field, self._value = b"", b""
        self._part: str | None = None
        self._text = bytearray()
        self.parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    def _begin(self) -> None:
        self._headers, self._part, self._text = {}, None, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if name != "file" or self._sink is not None or self.received is not None:
                raise ValidationFailed("file", "send exactly one file, in a part named 'file'")
            self.file_name = options[b"filename"].decode("utf-8", "replace")
            self._sink = evidence.UploadSink(
                self.settings.evidence_dir, max_bytes=self.settings.evidence_max_bytes
            )
        elif name not in ("kind", "description"):
            raise ValidationFailed(name or "body", "unknown form field")
        self._part = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._sink is not None and self._part == "file":
            self._sink.write(data[start:end])
            return
        self._text += data[start:end]
        if len(self._text) > FIELD_LIMIT:
            raise ValidationFailed(self._part or "body", f"at most {FIELD_LIMIT} bytes")

    def _end(self) -> None:
        if self._part == "file" and self._sink is not None:
            self.received, self._sink = self._sink.close(), None
        elif self._part:
            text = self._text.decode("utf-8", "replace").strip()
            if "\x00" in text:  # PostgreSQL text cannot hold it: 422, not a 500 at the INSERT
                raise ValidationFailed(self._part, "must not contain NUL (\\x00) characters")
            self.fields[self._part] = text

    def discard(self) -> None:
        if self._sink is not None:
            self._sink.discard()
        if self.received is not None:
            self.received.path.unlink(missing_ok=True)


async def _receive(request: Request, settings: Settings) -> _EvidenceForm:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise ValidationFailed("file", "send multipart/form-data with the file in a 'file' part")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > settings.evidence_max_bytes + MULTIPART_OVERHEAD:
        raise evidence.UploadTooLarge(
            f"the upload is larger than {settings.evidence_max_bytes} bytes",
            errors=[{"field": "file", "message": "too large"}],
            max_bytes=settings.evidence_max_bytes,
        )
    form = _EvidenceForm(options[b"boundary"], settings)
    try:
        async for chunk in request.stream():
            if chunk:
                await anyio.to_thread.run_sync(form.parser.write, chunk)
        await anyio.to_thread.run_sync(form.parser.finalize)
    except MultipartParseError as exc:
        form.discard()
        raise ValidationFailed("file", f"malformed multipart body: {exc}") from None
    except BaseException:
        form.discard()
        raise
    if form.received is None:
        form.discard()
        raise ValidationFailed("file", "no file in a part named 'file'")
    return form


def _kind(value: str | None) -> str:
    kind = value or "other"
    if kind not in get_args(EvidenceKind):
        raise ValidationFailed("kind", f"choose from {list(get_args(EvidenceKind))}")
    return kind


def _check_incident(db: Database, tenant_id: uuid.UUID, incident_id: uuid.UUID) -> None:
    """404 before a byte is read, in a short read of its own: no transaction while it arrives."""
    with db.session() as session:
        get_incident_with_parcel(session, tenant_id=tenant_id, incident_id=incident_id)


def _store(
    db: Database,
    form: _EvidenceForm,
    *,
    tenant_id: uuid.UUID,
    incident_id: uuid.UUID,
    actor: Actor,
    settings: Settings,
    now: datetime,
) -> EvidenceRead:
    """Record the received file in a unit of work of its own (the upload held none)."""
    assert form.received is not None
    with db.unit_of_work() as session:
        incident, _ = get_incident_with_parcel(
            session, tenant_id=tenant_id, incident_id=incident_id, lock=True
        )
        row = evidence.store_evidence(
            session,
            incident=incident,
            received=form.received,
            kind=_kind(form.fields.get("kind")),
            file_name=form.file_name,
            description=form.fields.get("description") or None,
            actor=actor,
            settings=settings,
            now=now,
        )
        return evidence.evidence_view(row)


@router.post("/evidence", status_code=status.HTTP_201_CREATED, response_model=EvidenceRead)
async def upload_evidence(
    incident_id: uuid.UUID,
    request: Request,
    principal: IncidentsWriteDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> EvidenceRead:
    """multipart/form-data: ``file`` (photo, video or PDF), ``kind``, ``description``."""
    db: Database = request.app.state.db
    await anyio.to_thread.run_sync(_check_incident, db, principal.tenant_id, incident_id)
    form = await _receive(request, settings)
    try:
        view = await anyio.to_thread.run_sync(
            partial(
                _store,
                db,
                form,
                tenant_id=principal.tenant_id,
                incident_id=incident_id,
                actor=Actor.api_key(principal),
                settings=settings,
                now=now,
            )
        )
    except BaseException:
        form.discard()
        raise
    response.headers["Location"] = view.download_url.removesuffix("/content")
    return view


@router.get("/evidence", response_model=Page[EvidenceRead])
def list_evidence(
    incident_id: uuid.UUID,
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
    page_size: PageSizeQuery = None,
    page_token: PageTokenQuery = None,
) -> Page[EvidenceRead]:
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    filters = {"incident_id": str(incident.id)}
    return keyset_page(
        settings,
        filters=filters,
        page_size=page_size,
        page_token=page_token,
        fetch=lambda after, limit: evidence.list_evidence(
            session, incident_id=incident.id, after=after, limit=limit
        ),
        position=lambda row: (row.created_at, row.id),
        view=evidence.evidence_view,
    )


@router.get("/evidence/{evidence_id}", response_model=EvidenceRead)
def get_evidence(
    incident_id: uuid.UUID, evidence_id: uuid.UUID, principal: ReadDep, session: SessionDep
) -> EvidenceRead:
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    return evidence.evidence_view(
        evidence.get_evidence(session, incident_id=incident.id, evidence_id=evidence_id)
    )


@router.get("/evidence/{evidence_id}/content", response_class=FileResponse)
def download_evidence(
    incident_id: uuid.UUID,
    evidence_id: uuid.UUID,
    principal: ReadDep,
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    """The file as uploaded, with the type read from its content; always an attachment."""
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id
    )
    row = evidence.get_evidence(session, incident_id=incident.id, evidence_id=evidence_id)
    return FileResponse(
        evidence.file_path(settings, row),
        media_type=row.content_type,
        filename=row.file_name,
        headers={"X-Content-Type-Options": "nosniff", "ETag": f'"{row.sha256}"'},
    )


@router.delete("/evidence/{evidence_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_evidence(
    incident_id: uuid.UUID,
    evidence_id: uuid.UUID,
    principal: IncidentsWriteDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Refused (409) once the incident is resolved; the timeline keeps the name and hash."""
    incident, _ = get_incident_with_parcel(
        session, tenant_id=principal.tenant_id, incident_id=incident_id, lock=True
    )
    row = evidence.get_evidence(session, incident_id=incident.id, evidence_id=evidence_id)
    evidence.delete_evidence(
        session,
        incident=incident,
        row=row,
        actor=Actor.api_key(principal),
        settings=settings,
        now=now,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
