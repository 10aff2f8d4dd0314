"""Every job the scheduler runs, in one list: its name, its tick, its interval setting, and
whether a commit wakes it (``Wake``: see ``app.scheduler.wake``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from app.auto_incidents import job as detect
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.incidents import job as overdue
from app.notify import job as deliver_messages
from app.tracking import job as poll
from app.webhooks import wake as webhook_wake
from app.webhooks.dispatch import job as deliver

Tick = Callable[[JobContext], Awaitable[dict[str, int]]]


@dataclass(frozen=True, slots=True)
class Wake:
    """Run the job when a transaction that NOTIFYs ``channel`` commits, besides every interval.

    ``resident(ctx)`` opens the tick the scheduler runs for as long as it runs, so what the
    job keeps between passes (the webhook sender's kept-alive connections) outlives one pass.
    ``enabled`` says whether these settings want the wake-up at all.
    """

    channel: str
    resident: Callable[[JobContext], AbstractAsyncContextManager[Tick]]
    enabled: Callable[[Settings], bool]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    tick: Tick
    interval: Callable[[Settings], int]
    description: str
    wake: Wake | None = None


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "poll",
            poll.run,
            lambda s: s.poll_interval_seconds,
            "Fetch due parcels from their carriers and store new scans.",
        ),
        Job(
            "detect-stuck",
            detect.run,
            lambda s: s.detect_interval_seconds,
            "Open or escalate automatic incidents for parcels with no scan past their threshold.",
        ),
        Job(
            "overdue",
            overdue.run,
            lambda s: s.overdue_interval_seconds,
            "Raise incident.next_step_overdue once per deadline; escalate unowned ones.",
        ),
        Job(
            "deliver-webhooks",
            deliver.run,
            lambda s: s.webhook_dispatch_interval_seconds,
            "Send due webhook deliveries (signed, retried, in order per parcel and endpoint).",
            Wake(
                webhook_wake.CHANNEL,
                deliver.resident,
                lambda s: s.webhook_wake_on_commit,
            ),
        ),
        Job(
            "deliver-messages",
            deliver_messages.run,
            lambda s: s.message_dispatch_interval_seconds,
            "Send due e-mail to customers over SMTP (at least once, retried on a schedule).",
        ),
    )
}
