"""Recording attempts: the attempt log, the delivery's next step, and the endpoint's health.

A success marks the delivery delivered whoever holds its lease (it is true either way). A
failure only moves the delivery on while we still hold the lease we leased it with, so a
late answer never overwrites a newer lease. ``410 Gone`` disables the endpoint at once; an
endpoint with no success for ``RT_WEBHOOK_DISABLE_AFTER_DAYS`` is disabled too, and either
raises ``webhook_endpoint.disabled`` (delivered to the tenant's other endpoints).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy import BigInteger, BindParameter, Integer, Table, and_, bindparam, or_
from sqlmodel import Session, col, func, update

from app.core.settings import Settings
from app.db.bulk_insert import insert_rows
from app.db.types import UTCDateTime
from app.db.upsert import BinaryArray
from app.outbox.events import emit
from app.webhooks.dispatch import retry
from app.webhooks.dispatch.sender import Message, Outcome
from app.webhooks.endpoints.service import endpoint_view
from app.webhooks.models import IS_PENDING, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.publish import pause

log = structlog.get_logger("webhooks")
Result = tuple[Message, Outcome]


def _attempt_row(message: Message, outcome: Outcome) -> dict[str, object]:
    return {
        "delivery_id": message.delivery_id,
        "attempted_at": outcome.attempted_at,
        "webhook_timestamp": outcome.webhook_timestamp,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error,
        "response_excerpt": outcome.response_excerpt,
    }


_ID: BindParameter[int] = bindparam("b_id")
_NOW = bindparam("b_now", type_=UTCDateTime)
_LAST = {
    "last_attempt_at": bindparam("b_at", type_=UTCDateTime),
    "last_status_code": bindparam("b_code"),
    "last_error": bindparam("b_error"),
    "attempts": bindparam("b_attempts"),
    "lease_until": None,
}
_SUCCEEDED = (
    update(WebhookDelivery)
    .where(col(WebhookDelivery.id) == _ID, col(WebhookDelivery.status) == "pending")
    .values(status="delivered", delivered_at=_NOW, next_attempt_at=None, **_LAST)
)
_DELIVERED = (  # PostgreSQL: every success of a batch in one statement, one array per column
    func.unnest(
        bindparam("b_ids", type_=BinaryArray(BigInteger)),
        bindparam("b_ats", type_=BinaryArray(UTCDateTime)),
        bindparam("b_codes", type_=BinaryArray(Integer)),
        bindparam("b_attempts", type_=BinaryArray(Integer)),
    )
    .table_valued("id", "at", "code", "attempts")
    .render_derived()
)
_SUCCEEDED_ALL = (
    update(WebhookDelivery)
    .where(col(WebhookDelivery.id) == _DELIVERED.c.id, col(WebhookDelivery.status) == "pending")
    .values(
        status="delivered",
        delivered_at=_NOW,
        next_attempt_at=None,
        last_attempt_at=_DELIVERED.c.at,
        last_status_code=_DELIVERED.c.code,
        last_error=None,
        attempts=_DELIVERED.c.attempts,
        lease_until=None,
    )
)
_FAILED = (
    update(WebhookDelivery)
    .where(col(WebhookDelivery.id) == _ID, col(WebhookDelivery.status) == "pending")
    .where(col(WebhookDelivery.lease_until) == bindparam("b_lease", type_=UTCDateTime))
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next", type_=UTCDateTime),
        **_LAST,
    )
)
_OCCURRED = bindparam("b_occurred", type_=UTCDateTime)
_UNTIL = bindparam("b_until", type_=UTCDateTime)
_HOLD_BACK = (  # the parcel's later deliveries wait for this one's retry (keeps claims cheap)
    update(WebhookDelivery)
    .where(
        col(WebhookDelivery.endpoint_id) == bindparam("b_endpoint"),
        col(WebhookDelivery.parcel_id) == bindparam("b_parcel"),
        IS_PENDING,
        col(WebhookDelivery.next_attempt_at) < _UNTIL,
        or_(
            col(WebhookDelivery.occurred_at) > _OCCURRED,
            and_(col(WebhookDelivery.occurred_at) == _OCCURRED, col(WebhookDelivery.id) > _ID),
        ),
    )
    .values(next_attempt_at=_UNTIL)
)


_STREAK_ENDED = (
    update(WebhookEndpoint)
    .where(col(WebhookEndpoint.id).in_(bindparam("ids", expanding=True)))
    .where(col(WebhookEndpoint.failing_since).is_not(None))
    .values(failing_since=None)
)


def _next_attempt(
    message: Message, outcome: Outcome, settings: Settings, now: datetime
) -> datetime | None:
    wait = None
    if outcome.status_code in retry.RETRY_AFTER_STATUSES:
        wait = retry.parse_retry_after(outcome.retry_after, now)
    return retry.next_attempt_at(
        attempts_made=message.attempts + 1,
        schedule=settings.webhook_retry_schedule,
        now=now,
        retry_after=wait,
    )


def _record_deliveries(
    session: Session, results: Sequence[Result], settings: Settings, now: datetime
) -> Counter[str]:
    """Move each delivery on: delivered, retrying (at its next time) or failed.

    One statement per kind, executed for all rows at once.
    """
    counts: Counter[str] = Counter()
    succeeded, failed, held = [], [], []
    for message, outcome in results:
        last = {
            "b_id": message.delivery_id,
            "b_at": outcome.attempted_at,
            "b_code": outcome.status_code,
            "b_error": outcome.error,
            "b_attempts": message.attempts + 1,
        }
        if outcome.succeeded:
            succeeded.append({**last, "b_now": now})
            counts["delivered"] += 1
            continue
        next_at = _next_attempt(message, outcome, settings, now)
        status = "pending" if next_at else "failed"
        failed.append(
            {**last, "b_lease": message.lease_until, "b_status": status, "b_next": next_at}
        )
        counts["retrying" if next_at else "failed"] += 1
        if next_at is not None and message.parcel_id is not None:
            held.append(
                {
                    "b_id": message.delivery_id,
                    "b_endpoint": message.endpoint_id,
                    "b_parcel": message.parcel_id,
                    "b_occurred": message.occurred_at,
                    "b_until": next_at,
                }
            )
    connection = session.connection()
    if succeeded and connection.dialect.name == "postgresql":
        connection.execute(_SUCCEEDED_ALL, _as_arrays(succeeded, now))
        succeeded = []
    for statement, rows in ((_SUCCEEDED, succeeded), (_FAILED, failed), (_HOLD_BACK, held)):
        if rows:
            connection.execute(statement, rows)
    return counts


def _as_arrays(succeeded: list[dict[str, object]], now: datetime) -> dict[str, object]:
    return {
        "b_ids": [row["b_id"] for row in succeeded],
        "b_ats": [row["b_at"] for row in succeeded],
        "b_codes": [row["b_code"] for row in succeeded],
        "b_attempts": [row["b_attempts"] for row in succeeded],
        "b_now": now,
    }


def _disable(session: Session, endpoint_id: uuid.UUID, reason: str, now: datetime) -> bool:
    """Disable once (whoever gets there first raises the event)."""
    statement = (
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint_id, col(WebhookEndpoint.enabled).is_(True))
        .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        .returning(col(WebhookEndpoint.id))
        .execution_options(synchronize_session=False)
    )
    if reason == "failing":
        statement = statement.where(col(WebhookEndpoint.failing_since).is_not(None))
    if session.execute(statement).first() is None:
        return False
    pause(session, endpoint_id)
    endpoint = session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    assert endpoint is not None
    log.warning("webhook endpoint disabled", endpoint_id=str(endpoint_id), reason=reason)
    emit(
        session,
        type="webhook_endpoint.disabled",
        occurred_at=now,
        tenant_id=endpoint.tenant_id,
        payload={"endpoint": endpoint_view(endpoint).model_dump(mode="json"), "reason": reason},
    )
    return True


def _record_health(
    session: Session, results: Sequence[Result], settings: Settings, now: datetime
) -> int:
    """Endpoints' failing streaks; the number of endpoints this disabled."""
    succeeded = {m.endpoint_id for m, o in results if o.succeeded}
    gone = {m.endpoint_id for m, o in results if o.status_code == 410}
    first_failure: dict[uuid.UUID, datetime] = {}
    for message, outcome in results:
        if not outcome.succeeded and message.endpoint_id not in succeeded:
            seen = first_failure.get(message.endpoint_id, outcome.attempted_at)
            first_failure[message.endpoint_id] = min(seen, outcome.attempted_at)
    if succeeded:  # Core, not the ORM's bulk UPDATE: no session state to keep in step
        session.connection().execute(_STREAK_ENDED, {"ids": list(succeeded)})
    disabled = sum(_disable(session, endpoint_id, "gone", now) for endpoint_id in gone)
    cutoff = now - timedelta(days=settings.webhook_disable_after_days)
    for endpoint_id, since in first_failure.items():
        streak_start = func.coalesce(col(WebhookEndpoint.failing_since), since)
        session.execute(
            update(WebhookEndpoint)
            .where(col(WebhookEndpoint.id) == endpoint_id)
            .values(failing_since=streak_start)
            .execution_options(synchronize_session=False)
        )
        endpoint = session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
        started = endpoint.failing_since if endpoint is not None else None
        if started is not None and started <= cutoff:
            disabled += _disable(session, endpoint_id, "failing", now)
    return disabled


def record_results(
    session: Session, results: Sequence[Result], *, settings: Settings, now: datetime
) -> Counter[str]:
    """Write every attempt and its consequences; the caller commits."""
    counts: Counter[str] = Counter()
    attempts: Table = WebhookAttempt.__table__  # type: ignore[attr-defined]
    insert_rows(session, attempts, [_attempt_row(message, outcome) for message, outcome in results])
    counts.update(_record_deliveries(session, results, settings, now))
    counts["endpoints_disabled"] += _record_health(session, results, settings, now)
    return counts
