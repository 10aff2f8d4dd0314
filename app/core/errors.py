"""Domain errors that carry an HTTP status, rendered as RFC 9457 problem+json.

Every error the API returns goes through ``problem_response`` so clients see one shape:
``type``, ``title``, ``status``, ``detail`` and, where it helps, extension members such as
``errors`` (the offending fields) or ``allowed`` (the transitions that are possible).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:resolution-tracker:problem:"


class AppError(Exception):
    """Base of every error the API answers with; subclasses fix the status and title."""

    status = 500
    title = "Internal Server Error"
    slug = "internal"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] = {}


class BadRequest(AppError):
    status, title, slug = 400, "Bad Request", "bad-request"


class Unauthorized(AppError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": 'Bearer realm="resolution-tracker"'}


class Forbidden(AppError):
    status, title, slug = 403, "Forbidden", "missing-scope"


class NotFound(AppError):
    status, title, slug = 404, "Not Found", "not-found"


class Conflict(AppError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(AppError):
    status, title, slug = 412, "Precondition Failed", "stale-version"


class ValidationFailed(AppError):
    """422 naming the offending fields: ``errors=[{"field": ..., "message": ...}]``."""

    status, title, slug = 422, "Validation Failed", "validation"

    def __init__(self, field: str, message: str, **extensions: Any) -> None:
        errors = extensions.pop("errors", None) or [{"field": field, "message": message}]
        super().__init__(f"{field}: {message}", errors=errors, **extensions)


class PreconditionRequired(AppError):
    status, title, slug = 428, "Precondition Required", "if-match-required"


def problem_body(
    status: int, title: str, detail: str, slug: str | None = None, **extensions: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_BASE}{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extensions)
    return body


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, title, detail, slug, **extensions),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )
