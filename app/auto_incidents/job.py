"""The detect-stuck job: open (or escalate) automatic incidents for parcels gone quiet.

Set-based: only parcels whose ``stuck_check_at`` has come are read, through its index, so a
tick with nothing new touches no parcel rows. Parcels of a carrier we cannot currently poll,
and parcels not polled since their carrier came back, are left alone: silence is not the
same as not knowing. Every parcel of a batch gets its next check time, and the batch stores
them all in one statement (``app.stuck.checks.storing_check_times``) rather than one ORM
UPDATE each, running on the server while the opened incidents' entries and events are built.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

import anyio
import structlog
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auto_incidents import opening
from app.auto_incidents import service as auto_incidents
from app.auto_incidents.gc_pause import cycle_collector_paused
from app.auto_incidents.opening import Opening
from app.carriers import states as carrier_states
from app.carriers.models import CarrierState
from app.core.jobs import JobContext, run_batches, try_tick_lock
from app.incidents.models import Incident
from app.incidents.timeline import SYSTEM, append_entry
from app.parcels.models import Parcel
from app.stuck import checks as stuck_checks
from app.stuck.rules import rules_for
from app.stuck.verdict import StuckRule, judge

# parcels per batch (one transaction): each batch's claim scans the index entries its
# predecessors in the tick left behind, and pays a dozen fixed statements; 1,000 did a tick of
# 300,000 parcels / 3,000 to open in 10-30% less wall time than 500; a batch then holds its
# parcels' row locks for about half a second at a million parcels
BATCH = 1000
JOB = "detect-stuck"
# a configured carrier's parcel must have been polled this recently to be judged
STALE_POLL = timedelta(hours=24)
RECHECK_UNPOLLED = timedelta(hours=1)
# a parcel whose judging failed on its own is looked at again this much later
RETRY_FAILED = timedelta(hours=1)
log = structlog.get_logger("scheduler.detect")


def _reschedule(parcel: Parcel, at: datetime | None) -> None:
    """The parcel's next check time, as the batch's ``store_check_times`` will write it:
    set on the object as already stored, so no ORM flush writes it a second time."""
    set_committed_value(parcel, "stuck_check_at", at)


def _poll_is_fresh(parcel: Parcel, state: CarrierState | None, now: datetime) -> bool:
    polled = parcel.last_polled_at
    if polled is None or now - polled > STALE_POLL:
        return False
    return state is None or state.available_since is None or polled >= state.available_since


def _annotate_human_incident(
    session: Session, incident: Incident, summary: str, now: datetime
) -> None:
    append_entry(
        session,
        tenant_id=incident.tenant_id,
        incident_id=incident.id,
        kind="stuck_detected",
        actor=SYSTEM,
        summary=summary,
        now=now,
        data={},
    )


def judge_parcel(
    session: Session,
    parcel: Parcel,
    open_incidents: list[Incident],
    rules: list[StuckRule],
    now: datetime,
    counts: Counter[str],
) -> Opening | None:
    """Judge one parcel; escalate or annotate its open incidents, or say what to open."""
    verdict = judge(stuck_checks.facts_of(parcel), now=now, rules=rules)
    _reschedule(parcel, stuck_checks.next_check(verdict))
    if not verdict.stuck:
        counts["not_stuck"] += 1
        return None
    counts["stuck"] += 1
    automatic = next((i for i in open_incidents if i.source == "auto"), None)
    if automatic is not None:
        if auto_incidents.reclassify(
            session, incident=automatic, parcel=parcel, verdict=verdict, now=now
        ):
            counts["reclassified"] += 1
        elif verdict.kind == "presumed_lost" and automatic.type != "lost":
            auto_incidents.escalate_as_lost(
                session, incident=automatic, parcel=parcel, verdict=verdict, now=now
            )
            counts["escalated_lost"] += 1
        return None
    if open_incidents:  # a customer or agent already owns it: note the finding, do not duplicate
        summary = f"Detection: {verdict.kind} since {verdict.since:%Y-%m-%d} " + (
            f"({verdict.elapsed_business_days:.1f} business days)"
        )
        for incident in open_incidents:
            _annotate_human_incident(session, incident, summary, now)
        counts["annotated"] += 1
        return None
    return Opening(parcel=parcel, verdict=verdict)


def _open_incidents_of(session: Session, parcels: list[Parcel]) -> dict[uuid.UUID, list[Incident]]:
    """Every unresolved incident of the batch's parcels, locked, in one query."""
    by_parcel: dict[uuid.UUID, list[Incident]] = {}
    rows = session.exec(
        select(Incident)
        .where(
            col(Incident.parcel_id).in_([p.id for p in parcels]),
            col(Incident.status) != "resolved",
        )
        .order_by(col(Incident.opened_at))
        .with_for_update()
    )
    for incident in rows:
        by_parcel.setdefault(incident.parcel_id, []).append(incident)
    return by_parcel


def tick_batch(ctx: JobContext, counts: Counter[str]) -> bool:
    """One claimed batch in one transaction; False when there was nothing (left) to do.

    A parcel that makes the batch fail (a bug, or data nobody foresaw) must not stop
    detection for the parcels claimed with it, tick after tick: the batch is then judged
    parcel by parcel, each in its own transaction, and the one that fails again is set
    aside for ``RETRY_FAILED`` (logged, counted as ``parcel_errors``). The database being
    unreachable is no parcel's fault: that fails the tick, as before.
    """
    with cycle_collector_paused():
        attempt: Counter[str] = Counter()
        try:
            more = _tick_batch(ctx, attempt)
        except OperationalError:
            raise
        except Exception:
            log.exception("detect-stuck batch failed: judging its parcels one by one")
            counts["batches_split"] += 1
            return _parcel_by_parcel(ctx, counts)
        counts.update(attempt)
        return more


def _parcel_by_parcel(ctx: JobContext, counts: Counter[str]) -> bool:
    with ctx.db.session() as session:
        due = _due(carrier_states.states(session), ctx.clock())
        claimed = [parcel.id for parcel in session.exec(due)]
    for parcel_id in claimed:
        attempt: Counter[str] = Counter()
        try:
            _tick_batch(ctx, attempt, only=parcel_id)
        except OperationalError:
            raise
        except Exception:
            log.exception("detect-stuck could not judge a parcel", parcel_id=str(parcel_id))
            counts["parcel_errors"] += 1
            _set_aside(ctx, parcel_id)
            continue
        counts.update(attempt)
    return len(claimed) == BATCH


def _set_aside(ctx: JobContext, parcel_id: uuid.UUID) -> None:
    with ctx.db.unit_of_work() as session:
        session.execute(
            update(Parcel)
            .where(col(Parcel.id) == parcel_id)
            .values(stuck_check_at=ctx.clock() + RETRY_FAILED)
        )


def _due(states: Mapping[str, CarrierState], now: datetime) -> SelectOfScalar[Parcel]:
    """The next batch of parcels due for a check, of carriers that answer, oldest due first."""
    down = [code for code, state in states.items() if not state.available]
    return (
        select(Parcel)
        .where(col(Parcel.stuck_check_at) <= now, col(Parcel.carrier).not_in(down))
        .order_by(col(Parcel.stuck_check_at))
        .limit(BATCH)
    )


def _tick_batch(ctx: JobContext, counts: Counter[str], only: uuid.UUID | None = None) -> bool:
    now = ctx.clock()
    with ctx.db.unit_of_work() as session:
        if not try_tick_lock(session, JOB, enabled=ctx.use_tick_lock):
            counts["skipped_busy"] += 1
            return False
        states = carrier_states.states(session)
        due = _due(states, now)
        if only is not None:
            due = due.where(col(Parcel.id) == only)
        parcels = session.exec(due.with_for_update(skip_locked=True)).all()
        if not parcels:
            return False
        incidents_by_parcel = _open_incidents_of(session, list(parcels))
        rules: dict[uuid.UUID, list[StuckRule]] = {}
        openings: list[Opening] = []
        for parcel in parcels:
            adapter = ctx.carriers.adapters.get(parcel.carrier)
            polled_by_us = adapter is not None and adapter.configured
            if polled_by_us and not _poll_is_fresh(parcel, states.get(parcel.carrier), now):
                _reschedule(parcel, now + RECHECK_UNPOLLED)
                counts["waiting_for_poll"] += 1
                continue
            if parcel.tenant_id not in rules:
                rules[parcel.tenant_id] = rules_for(session, parcel.tenant_id)
            to_open = judge_parcel(
                session,
                parcel,
                incidents_by_parcel.get(parcel.id, []),
                rules[parcel.tenant_id],
                now,
                counts,
            )
            if to_open is not None:
                openings.append(to_open)
        opened = opening.insert_incidents(session, openings, now=now)
        # every parcel's next check is written while the opened incidents' rows are built
        moments = [(p.id, p.stuck_check_at) for p in parcels]
        with stuck_checks.storing_check_times(session, moments):
            told = opening.tell(opened, now=now)
        opening.announce(session, told, now=now)
        counts["opened"] += len(opened)
        counts["checked"] += len(parcels)
        return len(parcels) == BATCH


def run_sync(ctx: JobContext) -> dict[str, int]:
    return run_batches(ctx, tick_batch, Counter({"opened": 0}))


async def run(ctx: JobContext) -> dict[str, int]:
    return await anyio.to_thread.run_sync(run_sync, ctx)
