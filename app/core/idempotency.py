"""Idempotency-Key on every POST (draft-ietf-httpapi-idempotency-key-header).

Scope = (the caller's API key, method, path, key). The first request runs and its response is
stored; the same key with the same body replays that response byte for byte; with another body
it is a 422; while the first is still running, a 409. Keys live ``ttl_hours`` (at least 24 h).

5xx answers and authentication failures are not stored, so a retry runs again. A request whose
process died mid-flight leaves an ``in_progress`` claim; after ``ABANDONED_AFTER`` a retry may
take it over (the one window where a retry can run twice, documented in the README).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import anyio
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, select
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response
from app.core.models import IdempotencyRecord
from app.core.tenancy import hash_key
from app.db.engine import Database
from app.db.upsert import insert_ignore

log = structlog.get_logger("idempotency")
ABANDONED_AFTER = timedelta(minutes=2)
_KEPT_HEADERS = ("content-type", "location", "etag")


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: Literal["run", "replay", "mismatch", "in_progress"]
    record_id: uuid.UUID | None = None
    status: int = 0
    headers: dict[str, str] | None = None
    body: bytes = b""


class IdempotencyMiddleware:
    def __init__(
        self, app: ASGIApp, *, database: Database, ttl_hours: int, clock: Callable[[], datetime]
    ) -> None:
        self.app = app
        self.db = database
        self.ttl = timedelta(hours=ttl_hours)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        scheme, _, secret = headers.get("authorization", "").partition(" ")
        if key is None or scheme.lower() != "bearer" or not secret.strip():
            await self.app(scope, receive, send)
            return
        if headers.get("content-type", "").lower().startswith("multipart/"):
            # an upload is streamed to disk under its size cap, never held here in memory;
            # a retried upload is a second evidence file with the same sha256, not a loss
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255 or not key.isprintable():
            response = problem_response(
                400,
                "Bad Request",
                "Idempotency-Key must be 1 to 255 printable characters",
                slug="bad-idempotency-key",
                errors=[{"field": "Idempotency-Key", "in": "header", "message": "invalid"}],
            )
            await response(scope, receive, send)
            return
        body = await _read_body(receive)
        path = scope["path"]
        query = scope.get("query_string", b"").decode()
        fingerprint = hashlib.sha256(f"POST {path}?{query}\n".encode() + body).hexdigest()
        claim = await anyio.to_thread.run_sync(
            self._claim, hash_key(secret.strip()), path, key, fingerprint
        )
        if claim.outcome == "run":
            assert claim.record_id is not None
            await self._run(scope, body, send, claim.record_id)
        elif claim.outcome == "replay":
            await _send_stored(send, claim)
        elif claim.outcome == "mismatch":
            await problem_response(
                422,
                "Idempotency-Key reused",
                "this Idempotency-Key was used with a different request body",
                slug="idempotency-key-reused",
                errors=[{"field": "Idempotency-Key", "in": "header", "message": "body differs"}],
            )(scope, _empty_receive, send)
        else:
            await problem_response(
                409,
                "Conflict",
                "a request with this Idempotency-Key is still being processed; retry shortly",
                slug="idempotency-key-in-progress",
                headers={"Retry-After": "1"},
            )(scope, _empty_receive, send)

    async def _run(self, scope: Scope, body: bytes, send: Send, record_id: uuid.UUID) -> None:
        status = 0
        kept: dict[str, str] = {}
        chunks: list[bytes] = []
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in Headers(raw=message["headers"]).items():
                    if name in _KEPT_HEADERS:
                        kept[name] = value
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await self._after_response(self._forget, record_id)
            raise
        if status >= 500 or status in (401, 403):
            await self._after_response(self._forget, record_id)
        else:
            await self._after_response(self._store, record_id, status, kept, b"".join(chunks))

    async def _after_response(self, bookkeeping: Callable[..., None], *args: Any) -> None:
        """Store or forget the key once the answer is on its way; if the database has gone
        meanwhile, log it. Raising here would only make the server drop the connection (and
        the client's next request on it) or hide the request's own error; the claim stays
        ``in_progress`` and a retry is refused with 409 until ``ABANDONED_AFTER``."""
        try:
            await anyio.to_thread.run_sync(bookkeeping, *args)
        except SQLAlchemyError as exc:
            log.warning(
                "idempotency key not updated", step=bookkeeping.__name__, error=repr(exc)[:300]
            )

    def _claim(self, scope_hash: str, path: str, key: str, fingerprint: str) -> Claim:
        now = self.clock()
        with self.db.session() as session:
            where = (
                col(IdempotencyRecord.scope) == scope_hash,
                col(IdempotencyRecord.method) == "POST",
                col(IdempotencyRecord.path) == path,
                col(IdempotencyRecord.key) == key,
            )
            session.execute(
                delete(IdempotencyRecord).where(*where, col(IdempotencyRecord.expires_at) <= now)
            )
            record_id = uuid.uuid4()
            inserted = insert_ignore(
                session,
                IdempotencyRecord.__table__,  # type: ignore[attr-defined]
                {
                    "id": record_id,
                    "scope": scope_hash,
                    "method": "POST",
                    "path": path,
                    "key": key,
                    "request_hash": fingerprint,
                    "state": "in_progress",
                    "created_at": now,
                    "expires_at": now + self.ttl,
                },
            )
            if inserted:
                session.commit()
                return Claim("run", record_id=record_id)
            record = session.exec(select(IdempotencyRecord).where(*where)).one()
            if record.request_hash != fingerprint:
                return Claim("mismatch")
            if record.state == "in_progress":
                if record.created_at > now - ABANDONED_AFTER:
                    return Claim("in_progress")
                record.created_at = now  # the first attempt died: this retry takes over
                session.add(record)
                session.commit()
                return Claim("run", record_id=record.id)
            return Claim(
                "replay",
                status=record.response_status or 200,
                headers=json.loads(record.response_headers or "{}"),
                body=record.response_body or b"",
            )

    def _store(
        self, record_id: uuid.UUID, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        with self.db.session() as session:
            record = session.get(IdempotencyRecord, record_id)
            if record is not None:
                record.state = "done"
                record.response_status = status
                record.response_headers = json.dumps(headers)
                record.response_body = body
                session.add(record)
                session.commit()

    def _forget(self, record_id: uuid.UUID) -> None:
        with self.db.session() as session:
            session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == record_id))
            session.commit()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


async def _send_stored(send: Send, claim: Claim) -> None:
    headers = [(k.encode(), v.encode()) for k, v in (claim.headers or {}).items()]
    headers += [
        (b"idempotent-replayed", b"true"),
        (b"content-length", str(len(claim.body)).encode()),
    ]
    await send({"type": "http.response.start", "status": claim.status, "headers": headers})
    await send({"type": "http.response.body", "body": claim.body})
