"""The Idempotency-Key records: claimed, marked in the work's transaction, stored, forgotten.

Each function is one short transaction of its own, except ``mark_committed``, which runs in the
request's unit of work just before it commits (``app.db.unit_of_work.before_commit``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, Table, delete, update
from sqlmodel import Session, col, select

from app.core.errors import AppError
from app.core.models import IdempotencyRecord
from app.core.sealing import Unsealable, seal, unseal
from app.db.engine import Database
from app.db.upsert import insert_ignore

# A claim younger than this may belong to a request still running: a retry gets 409. Older,
# its process is taken for dead (an ``in_progress`` claim is taken over, a ``committed`` one
# whose answer never got stored is answered as lost).
ABANDONED_AFTER = timedelta(minutes=2)
KEPT_HEADERS = ("content-type", "location", "etag")
_LABEL = b"resolution-tracker:idempotent-answers:v1"
_TABLE = cast(Table, IdempotencyRecord.__table__)  # type: ignore[attr-defined]

Outcome = Literal["run", "replay", "mismatch", "in_progress", "lost"]


@dataclass(frozen=True, slots=True)
class KeyScope:
    """What one key is unique within: the API key that sent it (its hash), the path, the key."""

    api_key_hash: str
    path: str
    key: str


@dataclass(frozen=True, slots=True)
class Claim:
    """What a request with a key does: run (holding ``record_id``), or answer from the record."""

    outcome: Outcome
    record_id: uuid.UUID | None = None
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    reason: str = ""


@dataclass(slots=True)
class PendingClaim:
    """The claim a running request holds (in ``scope["state"]``); its unit of work marks it."""

    record_id: uuid.UUID
    committed: bool = False

    def note_committed(self) -> None:
        self.committed = True


class ClaimTakenOver(AppError):
    """This request ran past ``ABANDONED_AFTER`` and a retry took its key over: the retry's
    work is the one that counts, so this one's is rolled back."""

    status, title, slug = 409, "Conflict", "idempotency-key-taken-over"


def fingerprint_of(path: str, query: str, body: bytes) -> str:
    """What "the same request" means for a key: the same path, query and body bytes."""
    return hashlib.sha256(f"POST {path}?{query}\n".encode() + body).hexdigest()


def claim(
    db: Database,
    scope: KeyScope,
    *,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
    server_key: bytes,
) -> Claim:
    """Claim the key for this request, or say what its record answers instead."""
    with db.session() as session:
        where = (
            col(IdempotencyRecord.scope) == scope.api_key_hash,
            col(IdempotencyRecord.method) == "POST",
            col(IdempotencyRecord.path) == scope.path,
            col(IdempotencyRecord.key) == scope.key,
        )
        session.execute(
            delete(IdempotencyRecord).where(*where, col(IdempotencyRecord.expires_at) <= now)
        )
        record_id = _insert_claim(session, scope, fingerprint=fingerprint, now=now, ttl=ttl)
        if record_id is not None:
            session.commit()
            return Claim("run", record_id=record_id)
        record = session.exec(select(IdempotencyRecord).where(*where)).one()
        if record.request_hash != fingerprint:
            return Claim("mismatch")
        if record.created_at > now - ABANDONED_AFTER and record.state != "done":
            return Claim("in_progress")
        if record.state == "in_progress":
            return _take_over(session, record, scope, fingerprint=fingerprint, now=now, ttl=ttl)
        return _answer_of(record, server_key)


def _insert_claim(
    session: Session, scope: KeyScope, *, fingerprint: str, now: datetime, ttl: timedelta
) -> uuid.UUID | None:
    record_id = uuid.uuid4()
    inserted = insert_ignore(
        session,
        _TABLE,
        {
            "id": record_id,
            "scope": scope.api_key_hash,
            "method": "POST",
            "path": scope.path,
            "key": scope.key,
            "request_hash": fingerprint,
            "state": "in_progress",
            "sealed": False,
            "created_at": now,
            "expires_at": now + ttl,
        },
    )
    return record_id if inserted else None


def _take_over(
    session: Session,
    record: IdempotencyRecord,
    scope: KeyScope,
    *,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
) -> Claim:
    """The first attempt died before its work committed: this retry runs under a new id, so
    the first one, should it still be alive, can no longer mark the key (``ClaimTakenOver``)."""
    gone = _rowcount(
        session.execute(
            delete(_TABLE).where(_TABLE.c.id == record.id, _TABLE.c.state == "in_progress")
        )
    )
    record_id = (
        _insert_claim(session, scope, fingerprint=fingerprint, now=now, ttl=ttl) if gone else None
    )
    if record_id is None:  # another retry took it over first, or the first attempt committed
        return Claim("in_progress")
    session.commit()
    return Claim("run", record_id=record_id)


def _answer_of(record: IdempotencyRecord, server_key: bytes) -> Claim:
    headers: dict[str, str] = json.loads(record.response_headers or "{}")
    status = record.response_status or 0
    if record.state != "done" or record.response_body is None:
        reason = "was never stored: the process stopped between its work and storing it"
        return Claim("lost", status=status, headers=headers, reason=reason)
    body = record.response_body
    if record.sealed:
        try:
            body = unseal(server_key, label=_LABEL, token=body)
        except Unsealable:
            reason = "does not decrypt with this server's RT_SECRET_KEY"
            return Claim("lost", status=status, headers=headers, reason=reason)
    return Claim("replay", status=status, headers=headers, body=body)


def mark_committed(
    session: Session, pending: PendingClaim, *, status: int, headers: dict[str, str]
) -> None:
    """In the work's own transaction: the work is done. Committed with it or not at all."""
    marked = session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == pending.record_id, _TABLE.c.state == "in_progress")
        .values(state="committed", response_status=status, response_headers=json.dumps(headers))
    )
    if _rowcount(marked) != 1:
        raise ClaimTakenOver(
            "this request ran so long that a retry with the same Idempotency-Key took over; "
            "its work is rolled back and the retry's answer counts"
        )


def store_answer(
    db: Database,
    record_id: uuid.UUID,
    *,
    status: int,
    headers: dict[str, str],
    body: bytes,
    server_key: bytes,
) -> bool:
    """Keep the answer, encrypted, for replays; False if the claim was taken over meanwhile."""
    sealed = seal(server_key, label=_LABEL, plaintext=body)
    with db.session() as session:
        stored = session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == record_id, _TABLE.c.state.in_(("in_progress", "committed")))
            .values(
                state="done",
                response_status=status,
                response_headers=json.dumps(headers),
                response_body=sealed,
                sealed=True,
            )
        )
        session.commit()
    return _rowcount(stored) == 1


def forget(db: Database, record_id: uuid.UUID) -> None:
    """Drop a claim whose work did not commit (a 5xx, a 401/403): a retry runs afresh."""
    with db.session() as session:
        session.execute(
            delete(_TABLE).where(_TABLE.c.id == record_id, _TABLE.c.state == "in_progress")
        )
        session.commit()


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount
