"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.db.migrate import current_revision
from app.errors import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive (it does not touch the database)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> JSONResponse | dict[str, str]:
    """Ready when the database answers and its schema is at the migrations' head."""
    head: str | None = request.app.state.schema_head
    try:
        current = current_revision(request.app.state.db.engine)
    except SQLAlchemyError as exc:
        return problem_response(
            503, "Not Ready", f"database unreachable: {type(exc).__name__}", slug="not-ready"
        )
    if current != head:
        return problem_response(
            503,
            "Not Ready",
            f"database schema is at {current}, migrations are at {head}",
            slug="not-ready",
        )
    return {"status": "ready", "schema": current or ""}
