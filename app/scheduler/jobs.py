"""Every job the scheduler runs, in one list: its name, its tick, its interval setting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.auto_incidents import job as detect
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.incidents import job as overdue
from app.notify import job as deliver_messages
from app.tracking import job as poll
from app.webhooks.dispatch import job as deliver

Tick = Callable[[JobContext], Awaitable[dict[str, int]]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    tick: Tick
    interval: Callable[[Settings], int]
    description: str


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
        ),
        Job(
            "deliver-messages",
            deliver_messages.run,
            lambda s: s.message_dispatch_interval_seconds,
            "Send due e-mail to customers over SMTP (at least once, retried on a schedule).",
        ),
    )
}
