"""The webhook dispatcher (the ``deliver-webhooks`` job) and the delivery contract.

The contract
------------
- **At least once.** A delivery row is committed with its event (``publish``). The dispatcher
  leases rows (``leases``), sends, then records (``records``). A crash after the send and
  before the record leaves the row pending; when the lease runs out another tick sends it
  again. So a crash costs at most a duplicate, never a loss. Receivers deduplicate on
  ``webhook-id`` (the event id, the same on every retry and replay). The same holds when a
  process is stalled longer than the lease: another tick may then send the row again.
- **Signed.** Standard Webhooks headers ``webhook-id``, ``webhook-timestamp`` (this attempt)
  and ``webhook-signature`` (one ``v1,`` signature per live secret: two during a rotation).
- **Success** is a 2xx within ``RT_WEBHOOK_TIMEOUT_SECONDS``. Redirects are not followed and
  fail. ``410 Gone`` disables the endpoint. ``Retry-After`` on 429/503 is honoured. Failures
  retry on ``RT_WEBHOOK_RETRY_SCHEDULE``; after the last retry the delivery is ``failed``. An
  endpoint with no success for ``RT_WEBHOOK_DISABLE_AFTER_DAYS`` is disabled and
  ``webhook_endpoint.disabled`` raised; re-enabling it is an API call.
- **Ordered per (endpoint, parcel).** A delivery waits while an earlier one of the same
  parcel to the same endpoint is pending, so ``incident.resolved`` never overtakes
  ``incident.opened``. A delivery that has finally failed no longer holds the line.
- **Safe in many processes.** Leases use ``FOR UPDATE SKIP LOCKED`` and a lease
  (``RT_WEBHOOK_LEASE_SECONDS``, kept well above the timeout), so two dispatchers never send
  the same attempt within a lease.
- **Guarded.** Every send re-checks the URL against the SSRF rules and connects to the
  address it checked (``ssrf``, ``sender``).

How a tick runs: up to ``RT_WEBHOOK_CONCURRENCY`` requests are in flight; finished attempts
are recorded in batches, and the freed slots are refilled from new leases, until nothing is
due and nothing is in flight, or the tick budget is spent. The tick runs on asyncio (aiohttp
needs it), so its hot path uses asyncio's own events, task group and timeouts: anyio's asked
which event loop runs on every use, a fifth of the dispatcher's CPU.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
import structlog

from app.core.jobs import JobContext
from app.webhooks.dispatch import payloads
from app.webhooks.dispatch.leases import lease_due
from app.webhooks.dispatch.records import Result, record_results
from app.webhooks.dispatch.sender import Message, Outcome, Sender

log = structlog.get_logger("webhooks")
Counts = dict[str, int]
LINGER = 0.02  # seconds to gather more finished attempts into one bookkeeping transaction


def lease(ctx: JobContext, limit: int) -> list[Message]:
    settings = ctx.settings
    with ctx.db.unit_of_work() as session:
        messages = lease_due(
            session,
            now=ctx.clock(),
            limit=limit,
            lease=timedelta(seconds=settings.webhook_lease_seconds),
            server_key=settings.resolved_secret_key(),
            base_url=payloads.api_base_url(settings),
        )
    return messages


def record(ctx: JobContext, results: list[Result]) -> Counter[str]:
    with ctx.db.unit_of_work() as session:
        counts = record_results(session, results, settings=ctx.settings, now=ctx.clock())
    return counts


class _Signal:
    """Wakes every task waiting for "something changed" (an attempt or a record finished).

    ``count`` says how often it fired, so a task that was busy (leasing) can tell that it
    missed a change and must look again rather than wait for one that already happened.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.count = 0

    def fire(self) -> None:
        self.count += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int | None = None) -> None:
        if seen is None or seen == self.count:
            await self._event.wait()


class _Pipeline:
    """Leases into free slots and sends (``feed``) while finished attempts are recorded in
    batches (``record``): both run at once, so the database round trips overlap the sending.
    """

    def __init__(self, ctx: JobContext, sender: Sender, group: asyncio.TaskGroup) -> None:
        self.ctx, self.sender, self.group = ctx, sender, group
        self.sending = 0
        self.unrecorded: list[Result] = []
        self.recording = False
        self.feeding = True
        self.counts: Counter[str] = Counter({"claimed": 0})
        self.changed = _Signal()

    async def _attempt(self, message: Message) -> None:
        try:
            outcome = await self.sender.send(message)
        except Exception as exc:  # a bug must not sink the batch: record a failed attempt
            log.exception("webhook attempt crashed", delivery_id=message.delivery_id)
            now = self.sender.clock()
            outcome = Outcome(
                attempted_at=now,
                webhook_timestamp=int(now.timestamp()),
                latency_ms=0,
                error=f"internal error: {type(exc).__name__}",
            )
        self.sending -= 1
        self.unrecorded.append((message, outcome))
        self.changed.fire()

    async def _lease(self, limit: int) -> int:
        messages = await anyio.to_thread.run_sync(lease, self.ctx, limit)
        for message in messages:
            self.sending += 1
            self.group.create_task(self._attempt(message))
        self.counts["claimed"] += len(messages)
        return len(messages)

    def _idle(self) -> bool:
        return not (self.sending or self.unrecorded or self.recording)

    async def feed(self, deadline: float) -> None:
        settings = self.ctx.settings
        refill_at = max(1, settings.webhook_concurrency // 2)  # a claim costs a round trip
        try:
            while self.ctx.monotonic() < deadline:
                free = settings.webhook_concurrency - self.sending
                if free <= 0 or (self.sending and free < refill_at):
                    await self.changed.wait()
                    continue
                limit = min(free, settings.webhook_claim_size)
                seen = self.changed.count
                claimed = await self._lease(limit)
                if claimed == limit:
                    continue  # a full claim: more may be due
                if claimed == 0 and self._idle() and self.changed.count == seen:
                    return  # nothing due, nothing in flight, nothing left to record
                # a record may release a parcel's next delivery: look again after a change
                await self.changed.wait(seen)
        finally:
            self.feeding = False
            self.changed.fire()

    async def record(self) -> None:
        while self.feeding or self.sending or self.unrecorded:
            if not self.unrecorded:
                await self.changed.wait()
                continue
            with anyio.move_on_after(LINGER):  # gather a batch: one transaction for many
                while self.sending:
                    await self.changed.wait()
            results, self.unrecorded = self.unrecorded, []
            self.recording = True
            try:
                self.counts.update(await anyio.to_thread.run_sync(record, self.ctx, results))
            finally:
                self.recording = False
                self.changed.fire()


async def dispatch(ctx: JobContext, sender: Sender) -> dict[str, int]:
    """One tick: send what is due until nothing is left or the tick budget is spent."""
    async with asyncio.TaskGroup() as group:
        pipeline = _Pipeline(ctx, sender, group)
        group.create_task(pipeline.record())
        await pipeline.feed(ctx.deadline())
    return dict(pipeline.counts)


async def run(ctx: JobContext) -> dict[str, int]:
    """One tick with a sender of its own (the operator's "run now", tests)."""
    async with Sender.from_settings(ctx.settings, clock=ctx.clock) as sender:
        return await dispatch(ctx, sender)


@asynccontextmanager
async def resident(ctx: JobContext) -> AsyncIterator[Callable[[JobContext], Awaitable[Counts]]]:
    """The scheduler's dispatcher: one sender for every pass, so its connections to the
    receivers stay open from one pass to the next instead of being made again each time."""
    async with Sender.from_settings(ctx.settings, clock=ctx.clock) as sender:

        async def tick(ctx: JobContext) -> Counts:
            return await dispatch(ctx, sender)

        yield tick
