"""The error answers in the OpenAPI document: every one is problem+json, as the handlers send.

FastAPI documents only the success and a 422 in its own (plain JSON) shape. Clients and the
contract tests read the schema, so each operation also lists the errors its dependencies can
raise: 401 and 403 (the API key and its scopes) and 429 (its rate limit) under /v1, 404 when
the path names an object, 400 for a query parameter the operation does not take (any
operation), a body that cannot be decoded or a tampered page token, 413 for a body over the
gate's cap, 422 for a request that does not validate (with ``errors``),
500, and 503 while the database is unreachable.
Every POST also takes an ``Idempotency-Key`` (400 malformed, 409 in flight, 422 another body).
Statuses only some operations answer (412, 413, 428, 502 ...) are in ``ROUTE_PROBLEMS``.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from app.api.idempotency.answers import KEY_PATTERN
from app.core.errors import PROBLEM_JSON

_PROBLEM = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; some problems add members (e.g. `allowed`).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
    },
}
_FIELD_ERROR = {
    "type": "object",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string", "description": "A dotted path, e.g. `customer.phone`."},
        "in": {"type": "string", "enum": ["body", "query", "path", "header"]},
        "message": {"type": "string"},
    },
}
_VALIDATION_PROBLEM = {
    "title": "ValidationProblem",
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "required": ["errors"],
            "properties": {"errors": {"type": "array", "minItems": 1, "items": _FIELD_ERROR}},
        },
    ],
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key and body replay the first answer (multipart uploads excepted).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
}
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _content(schema: str) -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


# Statuses only some operations answer, and why. A key that names no operation is an error
# (a renamed route must not leave its errors undocumented).
ROUTE_PROBLEMS: dict[tuple[str, str], frozenset[int]] = {
    ("get", "/metrics"): frozenset({401}),  # RT_METRICS_TOKEN set and not sent
    ("get", "/readyz"): frozenset({503}),  # database unreachable or not migrated
    ("post", "/v1/parcels/{parcel_id}/refresh"): frozenset({502, 503, 504}),  # the carrier
    ("post", "/v1/incidents"): frozenset({404}),  # parcel_id names no parcel of the tenant
    ("patch", "/v1/incidents/{incident_id}"): frozenset({412, 428}),  # If-Match stale, missing
    ("post", "/v1/incidents/import"): frozenset({413}),  # over 20 MB
    ("post", "/v1/incidents/{incident_id}/evidence"): frozenset({413, 415}),  # size, type
    ("delete", "/v1/incidents/{incident_id}/evidence/{evidence_id}"): frozenset({409}),  # resolved
}


def _statuses(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    parameters = operation.get("parameters", [])
    statuses = {400, 500, 503}  # 400: an unknown query parameter (app/api/unknown_params.py)
    if path.startswith("/v1/"):
        statuses |= {401, 403, 429}  # 429: the key's rate limit, or failed authentications
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if "requestBody" in operation and path.startswith("/v1/"):
        statuses.add(413)  # over RT_MAX_BODY_BYTES (the request gate)
    if method == "post":  # Idempotency-Key: malformed (400), in flight (409), other body (422)
        statuses |= {409, 422}
    return statuses | ROUTE_PROBLEMS.get((method, path), frozenset())


def document_problems(document: dict[str, Any]) -> None:
    """Add the problem schemas and every operation's error answers to ``document``."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = _PROBLEM
    schemas["ValidationProblem"] = _VALIDATION_PROBLEM
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    unknown = [key for key in ROUTE_PROBLEMS if key[1] not in paths or key[0] not in paths[key[1]]]
    if unknown:
        raise RuntimeError(f"ROUTE_PROBLEMS names operations that do not exist: {unknown}")
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            if method == "post":
                operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(method, path, operation)):
                responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})
            for status, answer in responses.items():
                if status.startswith(("4", "5")):  # FastAPI guesses application/json: it is not
                    schema = "ValidationProblem" if status == "422" else "Problem"
                    answer["content"] = _content(schema)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def install_problem_docs(app: FastAPI) -> None:
    """Build the document once, with the problems added, when it is first asked for."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_problems(build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
