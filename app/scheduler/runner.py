"""APScheduler wiring, the same for the embedded scheduler and ``python -m app.scheduler``.

One interval trigger per job, never two ticks of one job at once in a process
(``max_instances=1``), missed ticks coalesced. Across processes the jobs coordinate through
the database (see ``app.core.jobs``), so any number of scheduler processes is safe.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.core.jobs import JobContext
from app.core.metrics import JOB_TICK_SECONDS, JOB_TICKS
from app.scheduler.jobs import JOBS

log = structlog.get_logger("scheduler")


async def run_job(name: str, ctx: JobContext) -> dict[str, int]:
    """Run one tick of ``name`` and log what it did; errors are logged, never fatal."""
    started = time.monotonic()
    try:
        counts = await JOBS[name].tick(ctx)
    except Exception:
        JOB_TICKS.labels(name, "error").inc()
        log.exception("job tick failed", job=name)
        raise
    finally:
        JOB_TICK_SECONDS.labels(name).observe(time.monotonic() - started)
    JOB_TICKS.labels(name, "ok").inc()
    # an idle tick (the webhook dispatcher ticks every second) is not worth an INFO line
    emit = log.info if any(counts.values()) else log.debug
    emit("job tick", job=name, seconds=round(time.monotonic() - started, 3), **counts)
    return counts


def build_scheduler(ctx: JobContext) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    start = datetime.now(UTC) + timedelta(seconds=2)
    for name, job in JOBS.items():
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.interval(ctx.settings),
            args=[name, ctx],
            id=name,
            name=job.description,
            max_instances=1,
            coalesce=True,
            next_run_time=start,
            misfire_grace_time=None,
        )
    return scheduler
