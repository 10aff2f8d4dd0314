"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.api.one_thread import OneThreadRoute
from app.core.errors import problem_response
from app.db.migrate import current_revision, known_revisions

router = APIRouter(tags=["health"], route_class=OneThreadRoute)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive (it does not touch the database)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> JSONResponse | dict[str, str]:
    """Ready when the database answers and its schema is not behind this release.

    A schema this release does not know was migrated by a newer release during a rolling
    deploy (migrations are additive, docs/operations.md): the old replicas keep serving until
    they are replaced, instead of all turning not-ready at the moment the migration runs.
    """
    head: str | None = request.app.state.schema_head
    try:
        current = current_revision(request.app.state.db.engine)
    except SQLAlchemyError as exc:
        return problem_response(
            503, "Not Ready", f"database unreachable: {type(exc).__name__}", slug="not-ready"
        )
    if current == head:
        return {"status": "ready", "schema": current or ""}
    if current is not None and current not in known_revisions():
        return {"status": "ready", "schema": current, "note": f"newer than this release ({head})"}
    return problem_response(
        503,
        "Not Ready",
        f"database schema is at {current or 'nothing'}, this release needs {head}: "
        "run python -m app migrate",
        slug="not-ready",
    )
