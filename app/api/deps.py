"""Request dependencies: the database session, the caller, the clock, the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Annotated

import anyio
from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.api.authentication import Authenticator
from app.api.one_thread import finish_request_unit, is_finished, open_request_unit
from app.core.errors import Forbidden, Unauthorized, ValidationFailed
from app.core.settings import Settings
from app.core.tenancy import Principal
from app.db.engine import Database

# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in the
# thread pool, and a thread hop per dependency per request is most of a cheap read's cost.


async def get_database(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(
    request: Request, response: Response, db: Annotated[Database, Depends(get_database)]
) -> AsyncIterator[Session]:
    """The request's unit of work: committed when the handler returns, before the answer leaves.

    An error anywhere in the handler rolls everything back (``app.db.unit_of_work``), so routers
    never commit. A request holding an Idempotency-Key claim marks it in this same transaction
    (``app.api.idempotency``). Opening a session does no I/O, so it happens on the event loop.
    An ``OneThreadRoute`` commits it in the handler's own worker thread
    (``app.api.one_thread``); otherwise it is finished here, in the thread pool, shielded so
    that a client hanging up cannot leave the connection checked out.
    """
    session = open_request_unit(db.new_session(), request, response)
    try:
        yield session
    except BaseException:
        if not is_finished(session):
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(partial(finish_request_unit, session, commit=False))
        raise
    if not is_finished(session):
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(partial(finish_request_unit, session, commit=True))


async def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


async def refuse_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL (0x00): a query or path value with one is a 422, not a
    500 from the driver. (Bodies are checked by ``InputModel``; headers cannot carry it.)"""
    for where, pairs in (
        ("query", request.query_params.multi_items()),
        ("path", list(request.path_params.items())),
    ):
        for name, value in pairs:
            if "\x00" in name or "\x00" in str(value):
                message = "must not contain NUL (\\x00) characters"
                errors = [{"field": name, "in": where, "message": message}]
                raise ValidationFailed(name, message, errors=errors)


# scope "function": the commit runs when the handler returns, not after the answer was sent
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
NowDep = Annotated[datetime, Depends(get_now)]


# The API key as the OpenAPI's "ApiKey" scheme (HTTP bearer) on every operation that needs one,
# so /docs has an Authorize button. auto_error=False: the 401 stays our problem+json answer.
api_key_scheme = HTTPBearer(
    scheme_name="ApiKey",
    description="An API key (`rt_…`), sent as `Authorization: Bearer <api key>`; "
    "`python -m app keys create` issues one.",
    auto_error=False,
)


async def bearer_secret(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)],
) -> str:
    """The key sent as ``Authorization: Bearer <key>`` (any case of "bearer"), stripped."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send 'Authorization: Bearer <api key>'")
    return credentials.credentials


async def get_principal(
    request: Request, secret: Annotated[str, Depends(bearer_secret)]
) -> Principal:
    """The caller: the one the request gate (``app.api.gate``) authenticated before the body
    was read, or, for a request that did not pass the gate, looked up in a short transaction
    of its own.

    Not the request's unit of work: a handler that does long work outside any transaction (a
    carrier call, an upload, a job run) then holds none while it waits.
    """
    passed = request.scope.get("state", {}).get("principal")
    if isinstance(passed, Principal):
        return passed
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.principal(secret)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    request.state.principal = principal
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets the call through only with ``scope`` (or ``admin``)."""

    async def _check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope", required_scope=scope)
        return principal

    return _check


ReadDep = Annotated[Principal, Depends(require("read"))]
ParcelsWriteDep = Annotated[Principal, Depends(require("parcels:write"))]
IncidentsWriteDep = Annotated[Principal, Depends(require("incidents:write"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
