"""What the middleware answers itself: a replay, or a problem about the key."""

from __future__ import annotations

import re

from starlette.responses import Response

from app.api.idempotency.records import Claim
from app.api.problems import DATABASE_RETRY_AFTER_SECONDS
from app.core.errors import problem_response

_HEADER = "Idempotency-Key"


def replayed(claim: Claim) -> Response:
    """The stored answer, byte for byte, with the headers kept from it."""
    response = Response(content=claim.body, status_code=claim.status, headers=claim.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def key_reused(_: Claim) -> Response:
    return problem_response(
        422,
        "Idempotency-Key reused",
        "this Idempotency-Key was used with a different request body",
        slug="idempotency-key-reused",
        errors=[{"field": _HEADER, "in": "header", "message": "body differs"}],
    )


def in_progress(_: Claim) -> Response:
    return problem_response(
        409,
        "Conflict",
        "a request with this Idempotency-Key is still being processed; retry shortly",
        slug="idempotency-key-in-progress",
        headers={"Retry-After": "1"},
    )


def lost(claim: Claim) -> Response:
    """The work was done (committed) but its answer cannot be replayed: say what is known, and
    never run it again. No ``Retry-After``: retrying will not bring the answer back."""
    location = claim.headers.get("location")
    where = f"; it is at {location}" if location else ""
    return problem_response(
        409,
        "Conflict",
        f"the request with this Idempotency-Key was done (status {claim.status}{where}), but its "
        f"answer {claim.reason}. It will not run again: read the result with a GET",
        slug="idempotency-answer-lost",
        original_status=claim.status,
        location=location,
    )


def database_unavailable() -> Response:
    """The key could not even be claimed: nothing ran, so the same key may be sent again."""
    return problem_response(
        503,
        "Service Unavailable",
        "the database is unavailable; retry shortly (with the same Idempotency-Key)",
        slug="database-unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


# printable ASCII, as the header draft's sf-string allows: one rule, enforced here and stated
# in the OpenAPI document (app.api.openapi)
KEY_PATTERN = r"^[\x20-\x7E]{1,255}$"
_KEY = re.compile(KEY_PATTERN)


def is_valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def bad_key() -> Response:
    return problem_response(
        400,
        "Bad Request",
        "Idempotency-Key must be 1 to 255 printable ASCII characters (space to ~)",
        slug="bad-idempotency-key",
        errors=[{"field": _HEADER, "in": "header", "message": "invalid"}],
    )
