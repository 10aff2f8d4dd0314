"""Request dependencies: the database session, the caller, the clock, the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.api.authentication import Authenticator
from app.api.request_unit import open_request_unit
from app.core.errors import Forbidden, Unauthorized, ValidationFailed
from app.core.settings import Settings
from app.core.tenancy import Principal
from app.db.engine import Database

# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in the
# thread pool, and a thread hop per dependency per request is most of a cheap read's cost.


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(request: Request, response: Response) -> Session:
    """The request's unit of work, committed when the handler returns, before the answer leaves.

    An error anywhere in the handler rolls everything back (``app.db.unit_of_work``), so routers
    never commit. A request holding an Idempotency-Key claim marks it in this same transaction
    (``app.api.idempotency``). Opening a session does no I/O, so it happens on the event loop;
    the route finishes it (``app.api.request_unit.UnitOfWorkRoute``), an ``OneThreadRoute`` in
    the handler's own worker thread (``app.api.one_thread``).
    """
    db: Database = request.app.state.db
    return open_request_unit(db.new_session(), request, response)


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


SessionDep = Annotated[Session, Depends(get_session)]
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


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)]


async def get_principal(request: Request, credentials: Credentials) -> Principal:
    """The caller: the one the request gate (``app.api.gate``) authenticated before the body
    was read, or, for a request that did not pass the gate, looked up in a short transaction
    of its own.

    Not the request's unit of work: a handler that does long work outside any transaction (a
    carrier call, an upload, a job run) then holds none while it waits.
    """
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send 'Authorization: Bearer <api key>'")
    passed = request.scope.get("state", {}).get("principal")
    if isinstance(passed, Principal):
        return passed
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.principal(credentials.credentials)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    request.state.principal = principal
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets the call through only with ``scope`` (or ``admin``).

    It reads the caller itself rather than through ``Depends(get_principal)``: every node of
    FastAPI's dependency tree costs on every request, and this one is on all of them."""

    async def _check(request: Request, credentials: Credentials) -> Principal:
        principal = await get_principal(request, credentials)
        if not principal.has(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope", required_scope=scope)
        return principal

    return _check


ReadDep = Annotated[Principal, Depends(require("read"))]
ParcelsWriteDep = Annotated[Principal, Depends(require("parcels:write"))]
IncidentsWriteDep = Annotated[Principal, Depends(require("incidents:write"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
