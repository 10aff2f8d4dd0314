"""The ``deliver-messages`` job: e-mail to customers, and the sending contract.

The contract
------------
- **At least once.** A message is queued in the transaction that records it
  (``app.workflow.messages.delivery``). The job leases due messages (``leases``), hands them
  to the SMTP server (``smtp``), then records what happened (``records``). A crash after the
  server took a message and before the record leaves it queued; when the lease
  (``RT_MESSAGE_LEASE_SECONDS``) runs out another tick sends it again. A crash costs at most
  a duplicate, never a loss, and the duplicate has the same Message-ID, which mail clients
  show as one message.
- **Outcomes.** Taken by the server: ``sent``, with its reply as the queue id. Refused with a
  5xx: ``failed`` at once, with the reason. A 4xx, the server down, a dropped connection or
  no answer within ``RT_SMTP_TIMEOUT_SECONDS``: tried again on ``RT_MESSAGE_RETRY_SCHEDULE``,
  then ``failed`` with the last reason. Found unsendable when leased (the address removed,
  the customer opted out of proactive notices): ``not_sent``. Every state change is a
  timeline entry of the message's incident and a ``message.delivery_changed`` event.
- **Safe in many processes.** Leases use ``FOR UPDATE SKIP LOCKED`` and a lease, so two
  ticks never send the same message within a lease. A message whose lease would run out
  before its turn to be sent is left for a later tick rather than risk a second sender.
- **Off without a server.** With ``RT_SMTP_HOST`` unset the job does nothing; queued
  messages (queued while it was set) wait for it.

How a tick runs: up to ``RT_MESSAGE_CONCURRENCY`` workers, each on one SMTP connection it
keeps for the whole tick, send a leased batch of up to ``RT_MESSAGE_CLAIM_SIZE``; finished
messages are recorded in batches while the others are still being sent. Then the next batch,
until nothing is due or the tick budget is spent.
"""

from __future__ import annotations

import math
import ssl
from collections import Counter, deque
from datetime import timedelta

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from app.core.jobs import JobContext
from app.notify.leases import Outgoing, lease_due
from app.notify.records import Result, record_results
from app.notify.sender import envelope_sender
from app.notify.smtp import Mailer, Outcome

log = structlog.get_logger("notify")


def lease(ctx: JobContext) -> list[Outgoing]:
    settings = ctx.settings
    with ctx.db.unit_of_work() as session:
        return lease_due(
            session,
            now=ctx.clock(),
            limit=settings.message_claim_size,
            lease=timedelta(seconds=settings.message_lease_seconds),
            settings=settings,
        )


def record(ctx: JobContext, results: list[Result]) -> Counter[str]:
    with ctx.db.unit_of_work() as session:
        return record_results(session, results, settings=ctx.settings, now=ctx.clock())


async def _attempt(ctx: JobContext, mailer: Mailer, outgoing: Outgoing) -> Outcome | None:
    """Send one message; None: its lease would run out first, leave it to a later tick."""
    if outgoing.mail is None:
        return Outcome.of("not_sent", outgoing.unsendable or "not sendable")
    if ctx.clock() + timedelta(seconds=mailer.timeout) >= outgoing.lease_until:
        return None
    try:
        return await mailer.send(
            outgoing.mail, sender=envelope_sender(ctx.settings), recipient=outgoing.recipient
        )
    except Exception as exc:  # a bug must not sink the batch: try this one again later
        log.exception("e-mail attempt crashed", message_id=str(outgoing.message_id))
        return Outcome.of("retry", f"internal error: {type(exc).__name__}")


async def _work(
    ctx: JobContext,
    mailer: Mailer,
    queue: deque[Outgoing],
    results: MemoryObjectSendStream[Result],
    counts: Counter[str],
) -> None:
    async with results:
        while queue:
            outgoing = queue.popleft()
            outcome = await _attempt(ctx, mailer, outgoing)
            if outcome is None:
                counts["deferred"] += 1
                continue
            await results.send((outgoing, outcome))


async def _record_all(
    ctx: JobContext, results: MemoryObjectReceiveStream[Result], counts: Counter[str]
) -> None:
    """Record what is finished, one transaction for all that finished meanwhile."""
    async with results:
        async for first in results:
            batch = [first]
            while True:
                try:
                    batch.append(results.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            counts.update(await anyio.to_thread.run_sync(record, ctx, batch))


async def _send_batch(
    ctx: JobContext, mailers: list[Mailer], batch: list[Outgoing], counts: Counter[str]
) -> None:
    queue = deque(batch)
    send, receive = anyio.create_memory_object_stream[Result](max_buffer_size=math.inf)
    async with anyio.create_task_group() as group:
        group.start_soon(_record_all, ctx, receive, counts)
        async with send:
            for mailer in mailers[: len(batch)]:
                group.start_soon(_work, ctx, mailer, queue, send.clone(), counts)


async def dispatch(ctx: JobContext, *, tls_context: ssl.SSLContext | None = None) -> dict[str, int]:
    """One tick: send what is due until nothing is left or the tick budget is spent."""
    settings = ctx.settings
    counts: Counter[str] = Counter({"claimed": 0})
    deadline = ctx.deadline()
    mailers = [
        Mailer(settings, tls_context=tls_context) for _ in range(settings.message_concurrency)
    ]
    try:
        while ctx.monotonic() < deadline:
            batch = await anyio.to_thread.run_sync(lease, ctx)
            if not batch:
                break
            counts["claimed"] += len(batch)
            await _send_batch(ctx, mailers, batch, counts)
            if counts["deferred"]:
                break  # leases ran out under us: stop, a later tick takes the rest
    finally:
        with anyio.CancelScope(shield=True):
            for mailer in mailers:
                await mailer.aclose()
    counts["connections"] = sum(mailer.connections for mailer in mailers)
    return dict(counts)


async def run(ctx: JobContext) -> dict[str, int]:
    if not ctx.settings.smtp_host:
        return {}
    return await dispatch(ctx)
