"""The unit of work: one transaction that commits when the work ends well, and only then.

Every request and every job tick runs in one (``Database.unit_of_work()``; for requests the
session dependency in ``app.api.deps`` does the same around the handler, before the answer
leaves). Services add and flush; they never commit, and neither do routers. A change, its
timeline entry and its events therefore land together or not at all.

Files live beside the database, outside its transactions. A service that writes one before
its row commits registers ``on_rollback`` (remove it again); one that removes a file whose row
it marks deleted registers ``on_commit`` (remove it only once that is durable).

A write that must land in the same transaction as the work, once the work has ended well,
registers ``before_commit``: the request's Idempotency-Key record is marked that way, so the
work and the mark commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

_ON_ROLLBACK = "rt_on_rollback"
_ON_COMMIT = "rt_on_commit"
_BEFORE_COMMIT = "rt_before_commit"


def on_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` if this session's work is rolled back instead of committed."""
    session.info.setdefault(_ON_ROLLBACK, []).append(action)


def before_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` in this session's transaction just before it commits (not on rollback);
    an error it raises rolls the whole work back."""
    session.info.setdefault(_BEFORE_COMMIT, []).append(action)


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once this session's work has committed."""
    session.info.setdefault(_ON_COMMIT, []).append(action)


def finish(session: Session, *, commit: bool) -> None:
    """Commit (when ``commit`` and there is a transaction) and close, then run the hooks."""
    committed = False
    try:
        if commit:
            for action in session.info.pop(_BEFORE_COMMIT, []):
                action()
        if commit and session.in_transaction():
            session.commit()
            committed = True
    finally:
        session.info.pop(_BEFORE_COMMIT, None)
        after: list[Callable[[], None]] = session.info.pop(_ON_COMMIT, [])
        undo: list[Callable[[], None]] = session.info.pop(_ON_ROLLBACK, [])
        session.close()
        for action in after if committed else reversed(undo):
            action()
