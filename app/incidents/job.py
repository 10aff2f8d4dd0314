"""The overdue job: a next step past its deadline is told once, and unowned ones escalate.

``incident.next_step_overdue`` is raised once per deadline (``overdue_notified_for`` keeps the
deadline it was raised for; a new deadline can be overdue again). An automatic incident that
nobody has picked up (still ``open``) when its next step is overdue is escalated, so a team
lead sees it; incidents people are working on are only flagged.
"""

from __future__ import annotations

from collections import Counter

import anyio
from sqlmodel import col, or_, select, update

from app.core.calendars import add_business_days
from app.core.jobs import JobContext, run_batches, try_tick_lock
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.incidents.schemas import NextStep, TransitionCreate
from app.incidents.timeline import SYSTEM, append_entry
from app.parcels.models import Parcel

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
            append_entry(
                session,
                tenant_id=incident.tenant_id,
                incident_id=incident.id,
                kind="next_step_overdue",
                actor=SYSTEM,
                summary=f"Next step overdue since {step_due:%Y-%m-%d %H:%M} UTC: "
                f"{incident.next_step_action}",
                now=now,
                data={"action": incident.next_step_action, "due_at": step_due},
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
                    body=TransitionCreate(
                        to="escalated",
                        reason="next step overdue and nobody has picked the incident up",
                        next_step=NextStep(
                            action=f"Team lead: assign an owner and do the overdue step: "
                            f"{incident.next_step_action}"[:500],
                            due_at=add_business_days(now, 1, country),
                        ),
                    ),
                    actor=SYSTEM,
                    now=now,
                )
                counts["escalated"] += 1
        return len(due) == BATCH


def run_sync(ctx: JobContext) -> dict[str, int]:
    return run_batches(ctx, tick_batch, Counter({"overdue": 0}))


async def run(ctx: JobContext) -> dict[str, int]:
    return await anyio.to_thread.run_sync(run_sync, ctx)
