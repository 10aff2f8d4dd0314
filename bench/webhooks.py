"""Webhook delivery on PostgreSQL to a receiver on 127.0.0.1 (in its own process).

Two figures (issue 5, raised by issue 20):
- **throughput**: N committed events, one delivery each (every event on its own parcel), sent
  by dispatcher ticks at the default concurrency and claim size; deliveries per second from
  the first claim to the last record. Target ≥ 1,500/s.
- **added latency**: the service's scheduler runs at default settings (the deliver-webhooks
  job woken by each commit's ``NOTIFY``, its ``RT_WEBHOOK_DISPATCH_INTERVAL_SECONDS`` tick as
  the fallback) while events are committed one by one at random moments; the time from each
  commit to its first attempt reaching the receiver, p95 of each run. Target ≤ 0.2 s.

Both run on uvloop, the event loop the service runs on (uvicorn picks it for the API and the
embedded scheduler; ``python -m app.scheduler`` uses it too).

``python -m bench webhooks`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import uvloop
from sqlalchemy import text

from app.core.carrier_hub import CarrierHub
from app.core.jobs import JobContext
from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.db.types import utcnow
from app.outbox.events import emit
from app.scheduler.runner import Scheduler, build_scheduler
from app.startup import settle, wire
from app.webhooks.dispatch import job as deliver
from app.webhooks.endpoints.service import create_endpoint
from app.webhooks.endpoints.ssrf import system_resolver
from app.webhooks.schemas import WebhookEndpointCreate
from bench.figures import Figure
from bench.pg import throwaway_database
from tests.webhooks.helpers import make_parcels
from tests.webhooks.receiver import Received, Receiver, Reply

WARM_UP = 200
SECRET_KEY = "bench-secret-key-0123456789-0123456789"  # noqa: S105  (a throw-away DB)


def _receive(ready: Any, stop: Any, arrivals: Any) -> None:
    """The receiver process: answer 200, keep (webhook-id, arrival time), report at the end."""
    seen: list[tuple[str, float]] = []

    def record(request: Received) -> Reply:
        seen.append((request.webhook_id, request.at))
        return Reply()

    with Receiver(record) as receiver:
        ready.send(receiver.port)
        stop.wait()
    arrivals.send(seen)


class ReceiverProcess:
    def __init__(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._ready, ready_in = spawn.Pipe(duplex=False)
        self._arrivals, arrivals_in = spawn.Pipe(duplex=False)
        self._stop = spawn.Event()
        self._process = spawn.Process(target=_receive, args=(ready_in, self._stop, arrivals_in))

    def __enter__(self) -> ReceiverProcess:
        self._process.start()
        self.port: int = self._ready.recv()
        return self

    def finish(self) -> list[tuple[str, float]]:
        self._stop.set()
        seen: list[tuple[str, float]] = self._arrivals.recv()
        self._process.join(timeout=30)
        return seen

    def __exit__(self, *exc: object) -> None:
        if self._process.is_alive():
            self._process.kill()


def _settings(db: Database) -> Settings:
    return Settings(
        database_url=db.url,
        scheduler="embedded",
        secret_key=SECRET_KEY,
        webhook_allow_http=True,
        webhook_allow_private_networks=True,  # the receiver is on 127.0.0.1
        tick_budget_seconds=600,
    )


def _prepare(db: Database, settings: Settings, port: int) -> uuid.UUID:
    with db.session() as session:
        tenant = ensure_tenant(session, slug="bench")
        create_endpoint(
            session,
            tenant_id=tenant.id,
            data=WebhookEndpointCreate(url=f"http://127.0.0.1:{port}/hook"),
            settings=settings,
            resolver=system_resolver,
            now=utcnow(),
        )
        session.commit()
        return tenant.id


def _emit(db: Database, tenant: uuid.UUID, parcels: list[uuid.UUID]) -> list[uuid.UUID]:
    """One ``parcel.status_changed`` per parcel, in one transaction; their ids."""
    with db.session() as session:
        events = [
            emit(
                session,
                type="parcel.status_changed",
                occurred_at=utcnow(),
                tenant_id=tenant,
                parcel_id=parcel,
                payload={"parcel_id": str(parcel), "previous": "in_transit"},
            )
            for parcel in parcels
        ]
        session.commit()
        return [event.id for event in events]


def _reset(db: Database, *, endpoints: bool = False) -> None:
    """Forget the events and deliveries of the last run (and its endpoint: a new receiver)."""
    tables = ["webhook_attempts", "webhook_deliveries", "events"]
    with db.session() as session:
        for table in [*tables, "webhook_endpoints"] if endpoints else tables:
            session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)
        session.commit()


def _analyze(db: Database) -> None:
    """Planner statistics as autovacuum keeps them in a running service."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


def _throughput(db: Database, settings: Settings, tenant: uuid.UUID, count: int) -> float:
    _reset(db)
    _emit(db, tenant, make_parcels(db, tenant, count, utcnow()))
    _analyze(db)
    ctx = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=utcnow)
    started = time.perf_counter()
    totals: Counter[str] = Counter()
    while totals["delivered"] < count:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            totals.update(runner.run(deliver.run(ctx)))
        if time.perf_counter() - started > 300:
            raise RuntimeError(f"not all delivered after 300 s: {dict(totals)}")
    elapsed = time.perf_counter() - started
    if totals["retrying"]:
        print(f"   (throughput run: {totals['retrying']} attempts failed and were retried)")
    return count / elapsed


def _in_background(settings: Settings, db: Database) -> Callable[[], None]:
    """The service's scheduler (every job, default intervals) on its own event loop."""
    loop = uvloop.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    ctx = JobContext(db=db, carriers=CarrierHub({}), settings=settings, clock=utcnow)

    async def start() -> Scheduler:
        scheduler = build_scheduler(ctx)
        scheduler.start()
        return scheduler

    scheduler = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(scheduler.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    return stop


def _latencies(
    db: Database, settings: Settings, tenant: uuid.UUID, receiver: ReceiverProcess, events: int
) -> list[float]:
    _reset(db)
    parcels = make_parcels(db, tenant, events, utcnow())
    stop = _in_background(settings, db)
    committed: dict[str, float] = {}
    try:
        time.sleep(3)  # the scheduler's first ticks start 2 s after it is built
        rng = random.Random(5)
        for parcel in parcels:
            time.sleep(rng.uniform(0.05, 0.4))
            [event_id] = _emit(db, tenant, [parcel])
            committed[f"evt_{event_id.hex}"] = time.time()
        time.sleep(2 * settings.webhook_dispatch_interval_seconds + 1)
    finally:
        stop()
    first: dict[str, float] = {}
    for webhook_id, at in receiver.finish():
        first.setdefault(webhook_id, at)
    missing = set(committed) - set(first)
    if missing:
        raise RuntimeError(f"{len(missing)} events never reached the receiver")
    return [first[key] - committed[key] for key in committed]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def run(quick: bool) -> list[Figure]:
    wire()  # as the service's processes do at start-up: the outbox fans out to the webhooks
    settle()  # as the scheduler process does once it is built
    count, runs, latency_events = (1_000, 1, 25) if quick else (5_000, 3, 40)
    throughput: list[float] = []
    p95: list[float] = []
    medians: list[float] = []
    with throwaway_database("webhooks") as db:
        settings = _settings(db)
        for _ in range(runs):
            with ReceiverProcess() as receiver:
                tenant = _prepare(db, settings, receiver.port)
                _throughput(db, settings, tenant, WARM_UP)  # imports, pools, plans: not timed
                throughput.append(_throughput(db, settings, tenant, count))
                receiver.finish()
            _reset(db, endpoints=True)
            with ReceiverProcess() as receiver:
                tenant = _prepare(db, settings, receiver.port)
                latencies = _latencies(db, settings, tenant, receiver, latency_events)
            _reset(db, endpoints=True)
            p95.append(_p95(latencies))
            medians.append(statistics.median(latencies))
    return [
        Figure(
            f"webhook deliveries to a local receiver, {count:,} events",
            "deliveries/s",
            tuple(throughput),
            target="≥ 1,500/s",
            met=min(throughput) >= 1500,
        ),
        Figure(
            "event committed → first attempt received, p95 (default settings)",
            "s",
            tuple(p95),
            target="≤ 0.2 s",
            met=max(p95) <= 0.2,
        ),
        Figure(
            "event committed → first attempt received, median",
            "s",
            tuple(medians),
        ),
    ]
