"""Idempotency-Key on every POST (draft-ietf-httpapi-idempotency-key-header).

A key is unique per (the caller's API key, path, key). The first request runs; the same key
with the same body replays its answer byte for byte (``Idempotent-Replayed: true``); with
another body it is a 422. Keys live ``RT_IDEMPOTENCY_TTL_HOURS`` (at least 24 h).

Only an authenticated caller gets any bookkeeping: the principal comes from
``scope["state"]["principal"]`` (the authentication in front of us), else from the bearer key
looked up here; without one the request passes through untouched and the app answers 401.

The life of a key, and what a retry with it sees (the record's ``state``)::

    claimed          in_progress   own short transaction, before the work runs
    work commits     committed     in the work's own transaction (the request's unit of work,
                                   ``marking.mark_with_the_work``): both or neither
    answer stored    done          encrypted (``app.core.sealing``); only then is it sent

    in_progress, younger than ABANDONED_AFTER   409 + Retry-After: still running, or died
    in_progress, older                          the work never committed: this retry runs it
    committed, younger                          409 + Retry-After: the answer is being stored
    committed, older                            409 idempotency-answer-lost: the work was done
                                                (its status and Location are named) but the
                                                process died before storing the answer; it
                                                is never run a second time
    done                                        the stored answer, exactly

The whole answer is buffered (every POST answers small JSON), stored, then sent, so a client
that retries the moment the answer arrives is always replayed. Answers of 5xx, 401, 403 and
429 are not stored and their claim is deleted (a retry runs again), unless the work had
committed, in which case whatever was answered is what is replayed. A 4xx the handler raised
(409 "already registered", 422) rolled its work back and is stored and replayed as it is.

Routes whose work is not the request's unit of work (a job run, a carrier refresh) are not
marked ``committed``: if their process dies between the work and storing the answer, a retry
after ``ABANDONED_AFTER`` runs them again. If the database fails while storing, the answer is
still sent and the record stays as it was (logged). A request running past
``ABANDONED_AFTER`` can be taken over by a retry; it then cannot mark the key, and its work is
rolled back (``ClaimTakenOver``). Multipart uploads, and any body over ``HELD_BODY_LIMIT``
(1 MiB: a sheet import), pass through without bookkeeping: they stream on under their own
size caps and are never held here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import anyio
import structlog
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.authentication import Authenticator
from app.api.idempotency import records
from app.api.idempotency.answers import (
    bad_key,
    database_unavailable,
    in_progress,
    is_valid_key,
    key_reused,
    lost,
    replayed,
)
from app.api.idempotency.marking import CLAIM_STATE
from app.core.tenancy import Principal
from app.db.engine import Database

log = structlog.get_logger("idempotency")
_NOT_STORED = frozenset({401, 403, 429})  # nor any 5xx: a retry may well go otherwise
# Every JSON body is far smaller; a larger one is a sheet import, which keeps its own cap
HELD_BODY_LIMIT = 1024 * 1024


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        database: Database,
        authenticator: Authenticator,
        ttl_hours: int,
        clock: Callable[[], datetime],
        server_key: Callable[[], bytes],
    ) -> None:
        self.app = app
        self.db = database
        self.authenticator = authenticator
        self.ttl = timedelta(hours=ttl_hours)
        self.clock = clock
        self._server_key_source = server_key
        self._server_key: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None or headers.get("content-type", "").lower().startswith("multipart/"):
            await self.app(scope, receive, send)
            return
        principal = await self._principal(scope, headers)
        if principal is None:  # the app answers 401; nothing is written for it
            await self.app(scope, receive, send)
            return
        if not is_valid_key(key):
            await bad_key()(scope, _empty_receive, send)
            return
        held = await _hold_body(receive, limit=HELD_BODY_LIMIT)
        if held.too_large:  # a sheet import: streamed on to its own cap, not held for a replay
            await self.app(scope, held.then(receive), send)
            return
        body = held.body
        path = scope["path"]
        query = scope.get("query_string", b"").decode()
        fingerprint = records.fingerprint_of(path, query, body)
        try:
            claim = await anyio.to_thread.run_sync(
                partial(
                    records.claim,
                    self.db,
                    records.KeyScope(principal.key_hash, path, key),
                    fingerprint=fingerprint,
                    now=self.clock(),
                    ttl=self.ttl,
                    server_key=self._key(),
                )
            )
        except OperationalError as exc:  # nothing ran: the client may retry with the key
            log.warning("idempotency key not claimed", error=repr(exc)[:300])
            await database_unavailable()(scope, _empty_receive, send)
            return
        if claim.outcome == "run":
            assert claim.record_id is not None
            await self._run(scope, body, send, claim.record_id)
            return
        answers = {"replay": replayed, "mismatch": key_reused, "in_progress": in_progress}
        answer = answers.get(claim.outcome, lost)
        await answer(claim)(scope, _empty_receive, send)

    async def _principal(self, scope: Scope, headers: Headers) -> Principal | None:
        known = scope.get("state", {}).get("principal")
        if isinstance(known, Principal):
            return known
        scheme, _, secret = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        return await self.authenticator.principal(secret.strip())

    def _key(self) -> bytes:
        if self._server_key is None:
            self._server_key = self._server_key_source()
        return self._server_key

    async def _run(self, scope: Scope, body: bytes, send: Send, record_id: Any) -> None:
        pending = records.PendingClaim(record_id)
        scope.setdefault("state", {})[CLAIM_STATE] = pending
        answer = _Buffered()
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await self.app(scope, replay_receive, answer.capture)
        except BaseException:
            if not pending.committed:
                await self._bookkeep(records.forget, self.db, record_id)
            raise
        if pending.committed or not (answer.status >= 500 or answer.status in _NOT_STORED):
            await self._bookkeep(
                partial(
                    records.store_answer,
                    self.db,
                    record_id,
                    status=answer.status,
                    headers=answer.kept_headers,
                    body=answer.body,
                    server_key=self._key(),
                )
            )
        else:
            await self._bookkeep(records.forget, self.db, record_id)
        await answer.send_to(send)

    async def _bookkeep(self, step: Callable[..., object], *args: Any) -> None:
        """Store or forget the key; if the database has gone meanwhile, log it and answer
        anyway (the work is done or rolled back by now). The record stays as it was: a retry
        gets 409 until ``ABANDONED_AFTER``, then runs again or hears the answer was lost."""
        try:
            with anyio.CancelScope(shield=True):  # a client hanging up must not skip it
                await anyio.to_thread.run_sync(step, *args)
        except SQLAlchemyError as exc:
            name = getattr(step, "__name__", None) or getattr(step, "func", step).__name__
            log.warning("idempotency key not updated", step=name, error=repr(exc)[:300])


class _Buffered:
    """The app's answer, held until its record is stored."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status = 500
        self.kept_headers: dict[str, str] = {}
        self._chunks: list[bytes] = []

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for name, value in Headers(raw=message["headers"]).items():
                if name in records.KEPT_HEADERS:
                    self.kept_headers[name] = value
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
        self.messages.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(self._chunks)

    async def send_to(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


@dataclass(slots=True)
class _HeldBody:
    messages: list[Message]
    too_large: bool  # past the limit: handed on as read, not held for a replay

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.request")

    def then(self, receive: Receive) -> Receive:
        """The messages read so far, as they came, then the rest as it arrives."""
        pending = list(self.messages)

        async def receive_rest() -> Message:
            return pending.pop(0) if pending else await receive()

        return receive_rest


async def _hold_body(receive: Receive, *, limit: int) -> _HeldBody:
    """The request body, read until it ends or passes ``limit`` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return _HeldBody(messages, too_large=False)
        size += len(message.get("body", b""))
        if size > limit:
            return _HeldBody(messages, too_large=True)
        if not message.get("more_body", False):
            return _HeldBody(messages, too_large=False)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}
