"""Evidence API schemas: one uploaded file as the API shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from app.core.actors import ActorRead

EvidenceKind = Literal["photo", "video", "receipt", "insurance", "packaging", "other"]


class EvidenceRead(BaseModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    kind: EvidenceKind
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    description: str | None
    uploaded_by: ActorRead
    created_at: datetime
    download_url: str
