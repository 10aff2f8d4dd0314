"""Turn every error (ours, FastAPI's, Starlette's, unexpected) into problem+json."""

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

from adapters.base import (
    CarrierError,
    CarrierRateLimited,
    CarrierUnavailable,
)
from app.core.errors import AppError, problem_response

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
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "Internal Server Error", "an unexpected error occurred; it has been logged"
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
