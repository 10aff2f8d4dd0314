"""The overdue job: a next step past its deadline is told once, and unowned ones escalate.

``incident.next_step_overdue`` is raised once per deadline (``overdue_notified_for`` keeps the
deadline it was raised for; a new deadline can be overdue again). An automatic incident that
nobody has picked up (still ``open``) when its next step is overdue is escalated, so a team
lead sees it; incidents people are working on are only flagged.

The job assigns nobody. An escalated incident without an owner gets the next step "Assign an
owner ..." and is what the supervisor's queue shows (no assignee, status escalated); one with
an owner names them in the escalation, and the step stays theirs.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import anyio
from sqlmodel import col, or_, select, update

from app.core.calendars import add_business_days
from app.core.jobs import JobContext, run_batches, try_tick_lock
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.incidents.schemas import ACTION_MAX_CHARS, NextStep, TransitionCreate
from app.incidents.timeline import SYSTEM, append_entry
from app.incidents.views import assignee_view
from app.parcels.models import Parcel
from app.people.models import User

BATCH = 500
JOB = "overdue"


def tick_batch(ctx: JobContext, counts: Counter[str]) -> bool:
    now = ctx.clock()
    with ctx.db.unit_of_work() as session:
        if not try_tick_lock(session, JOB, enabled=ctx.use_tick_lock):
            counts["skipped_busy"] += 1
            return False
        due = session.exec(
            select(Incident)
            .where(
                col(Incident.status) != "resolved",
                col(Incident.next_step_due_at) <= now,
                or_(
                    col(Incident.overdue_notified_for).is_(None),
                    col(Incident.overdue_notified_for) != col(Incident.next_step_due_at),
                ),
            )
            .order_by(col(Incident.next_step_due_at))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for incident in due:
            parcel = session.get(Parcel, incident.parcel_id)
            assert parcel is not None
            step_due = incident.next_step_due_at
            assert step_due is not None
            # bookkeeping, not an edit: the ETag (version) stays as the agent last saw it
            session.execute(
                update(Incident)
                .where(col(Incident.id) == incident.id)
                .values(overdue_notified_for=step_due)
                .execution_options(synchronize_session=False)
            )
            owner = incident.assignee
            owner_view = assignee_view(owner)
            append_entry(
                session,
                tenant_id=incident.tenant_id,
                incident_id=incident.id,
                kind="next_step_overdue",
                actor=SYSTEM,
                summary=f"Next step overdue since {step_due:%Y-%m-%d %H:%M} UTC: "
                f"{incident.next_step_action}"
                + (f" (owner: {owner.display_name})" if owner else " (no owner)"),
                now=now,
                data={
                    "action": incident.next_step_action,
                    "due_at": step_due,
                    "assignee": owner_view.model_dump(mode="json") if owner_view else None,
                },
            )
            incidents.emit_incident_event(
                session, "incident.next_step_overdue", incident, parcel, now
            )
            counts["overdue"] += 1
            if incident.source == "auto" and incident.status == "open":
                country = parcel.last_scan_country or parcel.origin_country
                incidents.transition_incident(
                    session,
                    incident=incident,
                    body=escalation(incident.next_step_action or "", owner, now, country),
                    actor=SYSTEM,
                    now=now,
                )
                counts["escalated"] += 1
        return len(due) == BATCH


def escalation(
    overdue_step: str, owner: User | None, now: datetime, country: str | None
) -> TransitionCreate:
    """Escalate to the team lead: to give it an owner, or to chase the owner it has."""
    if owner is None:
        reason = "next step overdue and nobody has picked the incident up"
        action = f"Assign an owner, who then does the overdue step: {overdue_step}"
    else:
        reason = (
            f"next step overdue and its owner, {owner.display_name}, has not picked the incident up"
        )
        action = f"{owner.display_name}: do the overdue step: {overdue_step}"
    return TransitionCreate(
        to="escalated",
        reason=reason,
        next_step=NextStep(
            action=action[:ACTION_MAX_CHARS], due_at=add_business_days(now, 1, country)
        ),
    )


def run_sync(ctx: JobContext) -> dict[str, int]:
    return run_batches(ctx, tick_batch, Counter({"overdue": 0}))


async def run(ctx: JobContext) -> dict[str, int]:
    return await anyio.to_thread.run_sync(run_sync, ctx)
