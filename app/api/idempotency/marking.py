"""The request's unit of work marks its Idempotency-Key record in its own transaction."""

from __future__ import annotations

from functools import partial

from fastapi import Request, Response
from sqlmodel import Session

from app.api.idempotency.records import KEPT_HEADERS, PendingClaim, mark_committed
from app.db.unit_of_work import before_commit, on_commit

CLAIM_STATE = "idempotency_claim"  # the key in scope["state"] the middleware leaves it under


def pending_claim(request: Request) -> PendingClaim | None:
    claim = request.scope.get("state", {}).get(CLAIM_STATE)
    return claim if isinstance(claim, PendingClaim) else None


def mark_with_the_work(session: Session, request: Request, response: Response) -> None:
    """If the request holds a claim, mark it ``committed`` just before the work commits.

    Called when the handler has returned; the answer's status and the headers the handler set
    (``Location``, ``ETag``) are known then, its body not yet: the middleware stores that.
    """
    claim = pending_claim(request)
    if claim is None:
        return
    route_status = getattr(request.scope.get("route"), "status_code", None)
    status = response.status_code or route_status or 200
    headers = {name: value for name in KEPT_HEADERS if (value := response.headers.get(name))}
    before_commit(session, partial(mark_committed, session, claim, status=status, headers=headers))
    on_commit(session, claim.note_committed)
