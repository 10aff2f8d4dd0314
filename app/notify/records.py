"""Recording what became of each leased message, many in one transaction.

- **sent**: ``delivery`` sent with the server's reply as the queue id, whoever holds the lease
  now (it is true either way), unless another sender recorded it first;
- **failed** (refused for good), **not_sent** (found unsendable at lease time): that state
  with the reason;
- **retry**: the next attempt on ``RT_MESSAGE_RETRY_SCHEDULE`` (attempt n+1 waits
  ``schedule[n-1]``), the reason kept in ``delivery_error``, the lease cleared; no state
  change, so no event. With the schedule used up: failed, with the last reason.

Anything but *sent* is only recorded while we still hold the lease we took, so a late answer
never overrides a newer attempt. Each state change is ``change_delivery``: a timeline entry
for the message's incident, whose row is locked first (incidents in id order, then the
messages: the same order as every request that writes a message), and an event.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.core.settings import Settings
from app.incidents.models import Incident
from app.notify.leases import Outgoing
from app.notify.smtp import Outcome
from app.workflow.messages.delivery import change_delivery
from app.workflow.messages.models import CustomerMessage

Result = tuple[Outgoing, Outcome]


def next_attempt_at(
    *, attempts_made: int, schedule: Sequence[float], now: datetime
) -> datetime | None:
    """When to try again after ``attempts_made`` attempts; None when the schedule is used up."""
    if attempts_made > len(schedule):
        return None
    return now + timedelta(seconds=schedule[attempts_made - 1])


def _locked_messages(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, CustomerMessage]:
    incident_ids = session.exec(
        select(CustomerMessage.incident_id)
        .where(col(CustomerMessage.id).in_(ids), col(CustomerMessage.incident_id).is_not(None))
        .distinct()
    ).all()
    if incident_ids:
        session.exec(
            select(Incident.id)
            .where(col(Incident.id).in_(incident_ids))
            .order_by(col(Incident.id))
            .with_for_update()
        ).all()
    messages = session.exec(
        select(CustomerMessage)
        .where(col(CustomerMessage.id).in_(ids))
        .order_by(col(CustomerMessage.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {message.id: message for message in messages}


def _record_one(
    session: Session,
    message: CustomerMessage,
    outgoing: Outgoing,
    outcome: Outcome,
    *,
    settings: Settings,
    now: datetime,
) -> str:
    """Apply one outcome; what it came to (the count's name)."""
    if message.delivery != "queued":
        return "already_recorded"
    if outcome.result != "sent" and message.lease_until != outgoing.lease_until:
        return "lease_lost"
    if outcome.result == "not_sent":
        change_delivery(session, message=message, state="not_sent", now=now, error=outcome.detail)
        return "not_sent"
    message.delivery_attempts = outgoing.attempts + 1
    if outcome.result == "sent":
        change_delivery(session, message=message, state="sent", now=now, queue_id=outcome.detail)
        return "sent"
    if outcome.result == "retry":
        next_at = next_attempt_at(
            attempts_made=message.delivery_attempts,
            schedule=settings.message_retry_schedule,
            now=now,
        )
        if next_at is not None:
            message.next_attempt_at = next_at
            message.delivery_error = outcome.detail
            message.lease_until = None
            session.add(message)
            return "retrying"
    error = outcome.detail
    if outcome.result == "retry":
        error = f"{error} (gave up after {message.delivery_attempts} attempts)"
    change_delivery(session, message=message, state="failed", now=now, error=error)
    return "failed"


def record_results(
    session: Session, results: Sequence[Result], *, settings: Settings, now: datetime
) -> Counter[str]:
    """Write every outcome and its consequences; the caller commits."""
    messages = _locked_messages(session, [outgoing.message_id for outgoing, _ in results])
    counts: Counter[str] = Counter()
    for outgoing, outcome in results:
        message = messages.get(outgoing.message_id)
        if message is None:  # deleted meanwhile (its parcel was erased): nothing to record
            counts["vanished"] += 1
            continue
        counts[_record_one(session, message, outgoing, outcome, settings=settings, now=now)] += 1
    session.flush()
    return counts
