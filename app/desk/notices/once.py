"""One notice per confirm form, however often it is sent: a double click, a reload, two tabs.

The preview hands its confirm form a fresh ``notice_token``. Sending claims (the person, the
token) in the idempotency table, as an API client's Idempotency-Key is, but in the request's
own transaction and before any work: ``INSERT ... ON CONFLICT DO NOTHING`` on its unique key.
A second submit of the same form waits at that insert while the first one runs (PostgreSQL's
unique index; SQLite has one writer at a time), then finds the first one's notice and goes
there. Had the first failed, its claim rolled back with its work, and the second one runs.
The claim and the notice commit together, so a claim without its notice is never seen.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, update
from sqlmodel import Session, col, select

from app.core.errors import Conflict
from app.core.models import IdempotencyRecord
from app.db.upsert import insert_ignore

PATH = "/desk/notices"
_TABLE = cast(Table, IdempotencyRecord.__table__)  # type: ignore[attr-defined]


def _scope(user_id: uuid.UUID) -> str:
    """A desk person's keys apart from every API key's (those are SHA-256 hex digests)."""
    return f"desk:{user_id.hex}"


def claim_token(
    session: Session, *, user_id: uuid.UUID, token: uuid.UUID, now: datetime, ttl: timedelta
) -> uuid.UUID | None:
    """None: the token is this request's to send with (``bind_token`` once sent). Else the
    notice an earlier submit of the same form sent."""
    claimed = insert_ignore(
        session,
        _TABLE,
        {
            "id": uuid.uuid4(),
            "scope": _scope(user_id),
            "method": "POST",
            "path": PATH,
            "key": str(token),
            "request_hash": hashlib.sha256(str(token).encode()).hexdigest(),
            "state": "in_progress",
            "sealed": False,
            "created_at": now,
            "expires_at": now + ttl,
        },
    )
    if claimed:
        return None
    record = session.exec(
        select(IdempotencyRecord).where(
            col(IdempotencyRecord.scope) == _scope(user_id),
            col(IdempotencyRecord.method) == "POST",
            col(IdempotencyRecord.path) == PATH,
            col(IdempotencyRecord.key) == str(token),
        )
    ).one()
    location = json.loads(record.response_headers or "{}").get("location", "")
    try:
        return uuid.UUID(location.removeprefix(f"{PATH}/"))
    except ValueError:  # cannot be committed without its notice; said plainly should it be
        raise Conflict("this notice is being sent: see it in the list of notices") from None


def bind_token(
    session: Session, *, user_id: uuid.UUID, token: uuid.UUID, notice_id: uuid.UUID
) -> None:
    """The claimed token now names its notice (in the same transaction as the notice)."""
    session.execute(
        update(_TABLE)
        .where(
            _TABLE.c.scope == _scope(user_id),
            _TABLE.c.method == "POST",
            _TABLE.c.path == PATH,
            _TABLE.c.key == str(token),
        )
        .values(
            state="done",
            response_status=303,
            response_headers=json.dumps({"location": f"{PATH}/{notice_id}"}),
        )
    )
