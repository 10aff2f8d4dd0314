"""Turn every error (ours, FastAPI's, Starlette's, unexpected) into problem+json.

An unexpected exception is answered by ``UnexpectedErrorMiddleware``, not only by the handler
registered for ``Exception``: Starlette runs that handler in its outermost middleware, which
sends the 500 and then raises the exception again, and uvicorn closes a connection whose
application raised, so the client's next request on that keep-alive connection failed.
"""

from __future__ import annotations

import logging
import math
import re
from http import HTTPStatus
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.base import (
    CarrierError,
    CarrierRateLimited,
    CarrierUnavailable,
)
from app.core.errors import AppError, problem_response
from app.db.reads import DatabaseUnavailable

logger = logging.getLogger("app.core.errors")
DATABASE_RETRY_AFTER_SECONDS = 5
_LOCATIONS = frozenset({"body", "query", "path", "header"})
_FIELD_IN_MESSAGE = re.compile(r"^(?:Value error, )?([A-Za-z_][\w.]*): (.*)$", re.S)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One entry per problem, naming the field as a dotted path (``customer.email``)."""
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        where = "body"
        if location and location[0] in _LOCATIONS:
            where, location = location[0], location[1:]
        message = str(error.get("msg", "invalid"))
        match = _FIELD_IN_MESSAGE.match(message)
        if match:  # model-level checks name their field in the message
            location, message = [*location, match.group(1)], match.group(2)
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if where == "query" and len(location) == 2 and location[1].isdigit():
            # a repeated parameter (status=open&status=gone) is named, with the value's place
            location, message = location[:1], f"value {int(location[1]) + 1}: {message}"
        errors.append({"field": ".".join(location) or where, "in": where, "message": message})
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return problem_response(
            exc.status, exc.title, exc.detail, slug=exc.slug, headers=exc.headers, **exc.extensions
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(422, "Validation Failed", detail, slug="validation", errors=errors)

    @app.exception_handler(CarrierError)
    async def _carrier(_: Request, exc: CarrierError) -> JSONResponse:
        return carrier_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            return method_not_allowed(request)
        known = exc.status_code in HTTPStatus._value2member_map_
        title = HTTPStatus(exc.status_code).phrase if known else "HTTP Error"
        return problem_response(
            exc.status_code, title, str(exc.detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        """The database went away (a restart, a failover): the transaction was rolled back,
        so the client may retry, with the same Idempotency-Key if it sent one."""
        logger.warning(
            "database unavailable on %s %s: %s", request.method, request.url.path, exc.orig
        )
        return database_unavailable()

    @app.exception_handler(DatabaseUnavailable)
    async def _reads_unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        """The same, for a read on the event loop's own connections (``app.db.reads``)."""
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return database_unavailable()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        """Only for an error raised outside our middlewares (FastAPI's own); the server
        then closes the connection."""
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return internal_error()


def internal_error() -> JSONResponse:
    return problem_response(
        500, "Internal Server Error", "an unexpected error occurred; it has been logged"
    )


class UnexpectedErrorMiddleware:
    """Answers an exception nothing else handled with a complete 500 problem+json, logs it with
    its traceback and ends there, so the connection stays usable. Added last in create_app:
    the outermost of our middlewares, it also catches what they raise.

    If the answer had already started (a stream broke midway), the exception goes on: only
    closing the connection tells the client that the body it got is not whole."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def watch(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started and not finished:
                raise
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                await internal_error()(scope, receive, send)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own ``Allow`` names only the
    first route whose path matched, and one path often has several (GET and POST on a list),
    so each method is asked of the router as a request with that method would be."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def method_not_allowed(request: Request) -> JSONResponse:
    allowed = allowed_methods(request)
    return problem_response(
        405,
        "Method Not Allowed",
        f"{request.method} is not allowed on this path; allowed: {', '.join(allowed)}",
        slug="method-not-allowed",
        headers={"Allow": ", ".join(allowed)},
        allowed=allowed,
    )


def database_unavailable() -> JSONResponse:
    """503: the transaction was rolled back, so the client may retry."""
    return problem_response(
        503,
        "Service Unavailable",
        "the database is unavailable; retry shortly (with the same Idempotency-Key, if any)",
        slug="database-unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def carrier_problem(exc: CarrierError) -> JSONResponse:
    """A carrier failure, named: 503 when it asks us to wait, 504 on timeouts, else 502."""
    headers: dict[str, str] = {}
    if isinstance(exc, CarrierRateLimited):
        status, slug = 503, "carrier-rate-limited"
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    elif isinstance(exc, CarrierUnavailable):
        timed_out = isinstance(exc.__cause__, httpx.TimeoutException)
        status, slug = (504, "carrier-timeout") if timed_out else (503, "carrier-unavailable")
    else:
        status, slug = 502, "carrier-error"
    return problem_response(
        status,
        "Carrier Error",
        f"{exc.carrier}: {exc.message}",
        slug=slug,
        headers=headers,
        carrier=exc.carrier,
        error=type(exc).__name__,
    )
