"""Evidence files: written to disk as they arrive, capped while reading, typed by content.

``UploadSink`` takes the bytes of one file as they come: it refuses the upload the moment it
passes ``RT_EVIDENCE_MAX_BYTES`` (413), reads the type from the first bytes with puremagic and
refuses anything that is not a photo, video or PDF (415) whatever the file is called, and
hashes as it writes (SHA-256). Files are stored as ``<tenant>/<incident>/<evidence id><ext>``
under ``RT_STORAGE_DIR``: a client's file name is kept for display only, never used as a path.

Deleting is refused once the incident is resolved: by then the file is part of the record.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

import puremagic
from sqlmodel import Session, col, select

from app.core.actors import Actor
from app.core.errors import AppError, Conflict, NotFound
from app.core.settings import Settings
from app.db.unit_of_work import on_commit, on_rollback
from app.evidence.models import EvidenceFile
from app.evidence.schemas import EvidenceRead
from app.incidents.models import Incident
from app.incidents.timeline import append_entry

SNIFF_BYTES = 8192
# what a dispute needs: photos, videos, PDFs of receipts and insurance papers
ALLOWED_TYPES: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "image/heif": ".heic",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "application/pdf": ".pdf",
}


class UploadTooLarge(AppError):
    status, title, slug = 413, "Content Too Large", "upload-too-large"


class UnsupportedUpload(AppError):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-upload"


def sniff(head: bytes) -> str | None:
    """The allowed type the content is, judged by its magic bytes alone (None: not allowed)."""
    try:
        guesses = puremagic.magic_string(head)
    except puremagic.PureError:
        return None
    for guess in guesses:
        if guess.mime_type in ALLOWED_TYPES:
            return str(guess.mime_type)
    return None


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    path: Path
    size_bytes: int
    sha256: str
    content_type: str


class UploadSink:
    """One file, streamed to a temporary file in the storage directory."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        incoming = directory / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        self.path = incoming / f"{uuid.uuid4().hex}.part"
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        self._head = b""
        self._type: str | None = None
        self._file: BinaryIO | None = self.path.open("xb")

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            self.discard()
            raise UploadTooLarge(
                f"the file is larger than {self.max_bytes} bytes (RT_EVIDENCE_MAX_BYTES)",
                errors=[{"field": "file", "message": "too large"}],
                max_bytes=self.max_bytes,
            )
        if self._type is None:
            self._head += data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._check_type()
        self._hash.update(data)
        assert self._file is not None
        self._file.write(data)

    def _check_type(self) -> None:
        self._type = sniff(self._head)
        if self._type is None:
            self.discard()
            raise UnsupportedUpload(
                "the file's content is not a photo, video or PDF (its name does not matter); "
                f"accepted: {sorted(set(ALLOWED_TYPES))}",
                errors=[{"field": "file", "message": "content type not accepted"}],
            )

    def close(self) -> ReceivedFile:
        if self.size == 0:
            self.discard()
            raise UnsupportedUpload(
                "the file is empty", errors=[{"field": "file", "message": "empty"}]
            )
        if self._type is None:
            self._check_type()
        assert self._file is not None
        assert self._type is not None
        self._file.close()
        self._file = None
        return ReceivedFile(self.path, self.size, self._hash.hexdigest(), self._type)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")
# bidirectional overrides and isolates: "invoice\u202egpj.exe" would show as "invoiceexe.jpg"
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def display_name(raw: str | None, content_type: str) -> str:
    """The client's name without any path, control characters or excess length."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", _BIDI_CONTROLS.sub("", name)).strip(" .")
    return name[:200] or f"evidence{ALLOWED_TYPES[content_type]}"


def store_evidence(
    session: Session,
    *,
    incident: Incident,
    received: ReceivedFile,
    kind: str,
    file_name: str | None,
    description: str | None,
    actor: Actor,
    settings: Settings,
    now: datetime,
) -> EvidenceFile:
    """Move the received file into place and record it; ``incident`` must be locked."""
    evidence_id = uuid.uuid4()
    key = f"{incident.tenant_id}/{incident.id}/{evidence_id}{ALLOWED_TYPES[received.content_type]}"
    target = settings.evidence_dir / key
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(received.path, target)
    on_rollback(session, partial(target.unlink, missing_ok=True))
    return _record_evidence(
        session, incident, evidence_id, key, received, kind, file_name, description, actor, now
    )


def _record_evidence(
    session: Session,
    incident: Incident,
    evidence_id: uuid.UUID,
    key: str,
    received: ReceivedFile,
    kind: str,
    file_name: str | None,
    description: str | None,
    actor: Actor,
    now: datetime,
) -> EvidenceFile:
    row = EvidenceFile(
        id=evidence_id,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind=kind,
        file_name=display_name(file_name, received.content_type),
        content_type=received.content_type,
        size_bytes=received.size_bytes,
        sha256=received.sha256,
        storage_key=key,
        description=description,
        uploaded_by=actor.name,
        uploaded_by_type=actor.type,
        uploaded_by_id=actor.id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="evidence_added",
        actor=actor,
        summary=f"Evidence added ({kind}): {row.file_name}, sha256 {row.sha256[:12]}…",
        now=now,
        data={
            "evidence_id": str(row.id),
            "kind": kind,
            "file_name": row.file_name,
            "content_type": row.content_type,
            "size_bytes": row.size_bytes,
            "sha256": row.sha256,
        },
    )
    return row


def list_evidence(
    session: Session,
    *,
    incident_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[EvidenceFile]:
    query = select(EvidenceFile).where(
        EvidenceFile.incident_id == incident_id, col(EvidenceFile.deleted_at).is_(None)
    )
    if after is not None:
        at, last_id = after
        query = query.where(
            (col(EvidenceFile.created_at) > at)
            | ((col(EvidenceFile.created_at) == at) & (col(EvidenceFile.id) > last_id))
        )
    query = query.order_by(col(EvidenceFile.created_at), col(EvidenceFile.id))
    return list(session.exec(query.limit(limit) if limit else query))


def get_evidence(
    session: Session, *, incident_id: uuid.UUID, evidence_id: uuid.UUID
) -> EvidenceFile:
    row = session.get(EvidenceFile, evidence_id)
    if row is None or row.incident_id != incident_id or row.deleted_at is not None:
        raise NotFound(f"evidence {evidence_id} not found")
    return row


def file_path(settings: Settings, row: EvidenceFile) -> Path:
    return settings.evidence_dir / row.storage_key


def delete_evidence(
    session: Session,
    *,
    incident: Incident,
    row: EvidenceFile,
    actor: Actor,
    settings: Settings,
    now: datetime,
) -> None:
    """Mark it deleted; the row and the timeline keep its name and hash. Locked incident.

    The file itself goes once the transaction has committed.
    """
    if incident.status == "resolved":
        raise Conflict(
            "the incident is resolved: its evidence is part of the record and cannot be deleted",
            errors=[{"field": "evidence_id", "message": "incident resolved"}],
        )
    row.deleted_at = now
    row.deleted_by, row.deleted_by_type, row.deleted_by_id = actor.name, actor.type, actor.id
    session.add(row)
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="evidence_deleted",
        actor=actor,
        summary=f"Evidence deleted: {row.file_name}, sha256 {row.sha256[:12]}…",
        now=now,
        data={"evidence_id": str(row.id), "file_name": row.file_name, "sha256": row.sha256},
    )
    on_commit(session, partial(file_path(settings, row).unlink, missing_ok=True))


def evidence_view(row: EvidenceFile) -> EvidenceRead:
    return EvidenceRead(
        id=row.id,
        incident_id=row.incident_id,
        kind=row.kind,
        file_name=row.file_name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        description=row.description,
        uploaded_by=row.uploader.view(),
        created_at=row.created_at,
        download_url=f"/v1/incidents/{row.incident_id}/evidence/{row.id}/content",
    )
