"""Every Prometheus metric of the service, declared once, with bounded labels.

Two kinds, kept apart on purpose:

- **process metrics**: what this replica did itself (HTTP requests it answered, carrier calls
  it made). They live in prometheus-client's default registry and are summed across replicas
  by Prometheus.
- **database metrics**: the state of the system (open incidents, stuck parcels, the webhook
  queue, ...). Every replica reads them from the database with one query per scrape
  (``app.metrics_db``), so all replicas and scrapers report the same numbers.

Labels are only ever carrier codes, statuses, types, sources, outcomes, HTTP methods and route
templates: never a tracking number, an id or a URL.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters import base as adapters_base
from adapters import registry as carrier_registry
from adapters.base import (
    CarrierAdapter,
    CarrierAuthError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    TrackingQuery,
    TrackingResult,
)
from app.domain.incident_schemas import IncidentType
from app.metrics_db import WEBHOOK_STATUSES, HistogramData, Snapshot

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
BREAKER_STATES = ("closed", "open", "half_open")
disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: they double the series count for nothing

HTTP_REQUESTS = Counter(
    "rt_http_requests",
    "HTTP requests answered by this process, by route template and status class.",
    ["method", "route", "status_class"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "rt_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response started), by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CARRIER_POLLS = Counter(
    "rt_carrier_polls",
    "Carrier tracking calls made by this process, by carrier and outcome "
    "(ok, rate_limited, unavailable, auth_error, malformed, error).",
    ["carrier", "outcome"],
)
CARRIER_POLL_SECONDS = Histogram(
    "rt_carrier_poll_duration_seconds",
    "Duration of one carrier tracking call (retries included), by carrier.",
    ["carrier"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0),
)
JOB_TICKS = Counter(
    "rt_job_ticks",
    "Scheduler job ticks run by this process, by job and outcome (ok, error).",
    ["job", "outcome"],
)
JOB_TICK_SECONDS = Histogram(
    "rt_job_tick_duration_seconds",
    "Duration of one scheduler job tick, by job.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0),
)
CARRIER_RESULTS = Counter(
    "rt_carrier_tracking_results",
    "Per tracking number outcomes of successful carrier calls (found, not_found, error).",
    ["carrier", "outcome"],
)


def poll_outcome(error: BaseException | None) -> str:
    """The bounded outcome label of one carrier call."""
    if error is None:
        return "ok"
    for kind, label in (
        (CarrierRateLimited, "rate_limited"),
        (CarrierUnavailable, "unavailable"),
        (CarrierAuthError, "auth_error"),
        (CarrierMalformedResponse, "malformed"),
    ):
        if isinstance(error, kind):
            return label
    return "error"


async def timed_fetch(
    adapter: CarrierAdapter, queries: Sequence[TrackingQuery]
) -> list[TrackingResult]:
    """``adapter.fetch`` counted and timed: the poll job and the refresh endpoint call this."""
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        results = await adapter.fetch(queries)
    except BaseException as exc:
        error = exc
        raise
    finally:
        outcome = poll_outcome(error) if error is None or isinstance(error, Exception) else None
        if outcome is not None:  # a cancelled call is neither a success nor a carrier failure
            CARRIER_POLLS.labels(adapter.code, outcome).inc()
            CARRIER_POLL_SECONDS.labels(adapter.code).observe(time.perf_counter() - started)
    for result in results:
        CARRIER_RESULTS.labels(adapter.code, result.outcome).inc()
    return results


class UnmappedCodesCollector(Collector):
    """``adapters.base.unmapped_codes`` as a counter per carrier (the raw code is no label)."""

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(
            "rt_carrier_unmapped_codes",
            "Carrier status codes we could not map (the scan became 'unknown'), by carrier.",
            labels=["carrier"],
        )
        per_carrier: dict[str, int] = {}
        for (carrier, _code), count in list(adapters_base.unmapped_codes.items()):
            per_carrier[carrier] = per_carrier.get(carrier, 0) + count
        for carrier, count in sorted(per_carrier.items()):
            family.add_metric([carrier], count)
        yield family


REGISTRY.register(UnmappedCodesCollector())


class BreakerStateCollector(Collector):
    """Each carrier adapter's circuit breaker, one series per state (1 for the current one)."""

    def __init__(self, adapters: Iterable[CarrierAdapter]) -> None:
        self.adapters = list(adapters)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "rt_carrier_breaker_state",
            "Circuit breaker of this process's carrier client: 1 for the current state.",
            labels=["carrier", "state"],
        )
        configured = GaugeMetricFamily(
            "rt_carrier_configured",
            "1 when the carrier has credentials and is polled, else 0.",
            labels=["carrier"],
        )
        for adapter in self.adapters:
            current = adapter.health().breaker_state
            for state in BREAKER_STATES:
                family.add_metric([adapter.code, state], 1.0 if state == current else 0.0)
            configured.add_metric([adapter.code], 1.0 if adapter.configured else 0.0)
        yield family
        yield configured


class SnapshotCollector(Collector):
    """The database metrics of one ``Snapshot``: the same on every replica."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        snap = self.snapshot
        yield _gauge(
            "rt_incidents_open",
            "Unresolved incidents by type, status and carrier.",
            ["type", "status", "carrier"],
            snap.incidents_open,
        )
        opened = CounterMetricFamily(
            "rt_incidents_opened",
            "Incidents ever opened, by type and source (customer, agent, auto).",
            labels=["type", "source"],
        )
        for (kind, source), count in sorted(snap.incidents_opened.items()):
            opened.add_metric([kind, source], count)
        yield opened
        yield _gauge(
            "rt_incidents_resolved",
            "Incidents resolved now, by resolution (a reopened incident leaves this count).",
            ["resolution"],
            {(k,): v for k, v in snap.incidents_resolved.items()},
        )
        yield _gauge(
            "rt_incidents_next_step_overdue",
            "Unresolved incidents whose next step is past its deadline, by type.",
            ["type"],
            {(t,): snap.next_steps_overdue.get(t, 0) for t in typing.get_args(IncidentType)},
        )
        yield _gauge(
            "rt_parcels_active",
            "Parcels not in a final status (delivered, returned, cancelled) by carrier, status.",
            ["carrier", "status"],
            snap.parcels_active,
        )
        carriers = sorted({*carrier_registry.carrier_codes(), *snap.parcels_stuck})
        yield _gauge(
            "rt_parcels_stuck",
            "Parcels detection holds stuck (an open automatic incident), by carrier.",
            ["carrier"],
            {(c,): snap.parcels_stuck.get(c, 0) for c in carriers},
        )
        statuses = sorted({*WEBHOOK_STATUSES, *snap.webhook_deliveries})
        yield _gauge(
            "rt_webhook_deliveries",
            "Webhook deliveries by current status (pending, delivered, failed, cancelled).",
            ["status"],
            {(s,): snap.webhook_deliveries.get(s, 0) for s in statuses},
        )
        yield _gauge(
            "rt_webhook_queue_depth",
            "Webhook deliveries waiting to be sent (status pending).",
            [],
            {(): snap.webhook_deliveries.get("pending", 0)},
        )
        yield _gauge(
            "rt_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0 when none is pending).",
            [],
            {(): snap.webhook_oldest_pending_seconds},
        )
        yield _histogram(
            "rt_incident_time_to_first_response_seconds",
            "From the customer's report (else the opening) to the first customer contact.",
            snap.first_response,
        )
        yield _histogram(
            "rt_incident_time_to_resolution_seconds",
            "From opening to resolution, for incidents resolved now.",
            snap.resolution,
        )
        yield _gauge(
            "rt_metrics_snapshot_timestamp_seconds",
            "When the database metrics above were read (Unix time).",
            [],
            {(): snap.taken_at.timestamp()},
        )


def _gauge(
    name: str,
    documentation: str,
    labels: list[str],
    values: Mapping[Any, float],  # keys: tuples of label values
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        family.add_metric(list(label_values), value)
    return family


def _histogram(name: str, documentation: str, data: HistogramData) -> HistogramMetricFamily:
    buckets = [(str(float(bound)), float(count)) for bound, count in data.buckets]
    buckets.append(("+Inf", float(data.count)))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=data.total)


def exposition(snapshot: Snapshot, adapters: Iterable[CarrierAdapter]) -> bytes:
    """The whole ``/metrics`` page: this process's metrics, then the shared database ones."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(SnapshotCollector(snapshot))
    scrape.register(BreakerStateCollector(adapters))
    return generate_latest(REGISTRY) + generate_latest(scrape)


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/incidents/{incident_id}``), never the URL."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        elapsed: float | None = None

        async def observe(message: Message) -> None:
            nonlocal status, elapsed
            if message["type"] == "http.response.start":
                status = int(message["status"])
                elapsed = time.perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_template(scope)
            HTTP_REQUESTS.labels(method, route, f"{status // 100}xx").inc()
            HTTP_REQUEST_SECONDS.labels(method, route).observe(
                elapsed if elapsed is not None else time.perf_counter() - started
            )
