"""APScheduler wiring, the same for the embedded scheduler and ``python -m app.scheduler``.

One interval trigger per job, never two ticks of one job at once in a process
(``max_instances=1``), missed ticks coalesced. A job woken on commit (``Job.wake``: the
webhook dispatcher) runs in a ``WakeLoop`` instead, with the same guarantees plus a pass as
soon as a PostgreSQL ``NOTIFY`` on its channel arrives (``app.scheduler.wake``). Across
processes the jobs coordinate through the database (see ``app.core.jobs``), so any number of
scheduler processes is safe.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.core.jobs import JobContext
from app.core.metrics import JOB_TICK_SECONDS, JOB_TICKS
from app.scheduler.jobs import JOBS, Tick, Wake
from app.scheduler.wake import Doorbell, Listener, WakeLoop, psycopg_connect

log = structlog.get_logger("scheduler")


async def run_job(name: str, ctx: JobContext, tick: Tick | None = None) -> dict[str, int]:
    """Run one tick of ``name`` (with ``tick``, else the job's own) and log what it did;
    errors are logged, never fatal."""
    started = time.monotonic()
    try:
        counts = await (tick or JOBS[name].tick)(ctx)
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


class Scheduler:
    """The interval jobs on APScheduler; each job woken on commit in its own ``WakeLoop``, all
    of them rung by one ``Listener`` (PostgreSQL with psycopg only; elsewhere the interval
    alone runs them).

    ``start`` and ``shutdown`` as APScheduler's: ``start`` on the running event loop,
    ``shutdown`` from any thread (the loops and the listener are cancelled on their loop).
    """

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.intervals = AsyncIOScheduler(timezone=UTC)
        self.loops: dict[str, WakeLoop] = {}
        self.listener: Listener | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping: list[asyncio.Task[None]] = []
        start = datetime.now(UTC) + timedelta(seconds=2)
        for name, job in JOBS.items():
            if job.wake is not None:
                interval = job.interval(ctx.settings)
                self.loops[name] = WakeLoop(interval=interval, bell=Doorbell())
                continue
            self.intervals.add_job(
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

    @property
    def job_names(self) -> list[str]:
        return [job.id for job in self.intervals.get_jobs()] + list(self.loops)

    def _woken(self) -> dict[str, Wake]:
        return {name: wake for name in self.loops if (wake := JOBS[name].wake) is not None}

    def start(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        self.intervals.start()
        bells = {}
        for name, wake in self._woken().items():
            self._tasks.append(asyncio.create_task(self._resident(name, wake)))
            if wake.enabled(self.ctx.settings):
                bells[wake.channel] = self.loops[name].bell
        connect = psycopg_connect(self.ctx.db) if bells else None
        if connect is not None:
            self.listener = Listener(connect, bells)
            self._tasks.append(asyncio.create_task(self.listener.run()))
        log.debug("wake on commit", channels=list(bells) if connect else [])

    async def _resident(self, name: str, wake: Wake) -> None:
        """The job's loop, with its resident tick open for as long as the loop runs."""
        async with wake.resident(self.ctx) as tick:
            await self.loops[name].run(lambda: run_job(name, self.ctx, tick))

    def shutdown(self, wait: bool = True) -> None:
        self.intervals.shutdown(wait)
        tasks, self._tasks = self._tasks, []
        if self._event_loop is not None and not self._event_loop.is_closed():
            for task in tasks:
                self._event_loop.call_soon_threadsafe(task.cancel)
        self._stopping = tasks

    async def stop(self) -> None:
        """``shutdown`` and wait until the loops have closed their connections (on the loop)."""
        self.shutdown(wait=False)
        await asyncio.gather(*self._stopping, return_exceptions=True)


def build_scheduler(ctx: JobContext) -> Scheduler:
    return Scheduler(ctx)
