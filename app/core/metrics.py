"""Every Prometheus metric of the service, declared once, with bounded labels.

Two kinds, kept apart on purpose:

- **process metrics**: what this replica did itself (HTTP requests it answered, carrier calls
  it made). They live in prometheus-client's default registry and are summed across replicas
  by Prometheus.
- **database metrics**: the state of the system (open incidents, stuck parcels, the webhook
  queue, ...). Every replica reads them from the database with one query per scrape
  (``app.reporting.metrics_db``), so all replicas and scrapers report the same numbers.

Labels are only ever carrier codes, statuses, types, sources, outcomes, HTTP methods and route
templates: never a tracking number, an id or a URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from prometheus_client import (
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
)
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters import base as adapters_base
from adapters.base import (
    CarrierAdapter,
    CarrierAuthError,
    CarrierMalformedResponse,
    CarrierRateLimited,
    CarrierUnavailable,
    TrackingQuery,
    TrackingResult,
)

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
# `job_name`, not `job`: Prometheus gives every series the scrape job's name as `job`, and would
# rename ours to `exported_job`.
JOB_TICKS = Counter(
    "rt_job_ticks",
    "Scheduler job ticks run by this process, by job name and outcome (ok, error).",
    ["job_name", "outcome"],
)
JOB_TICK_SECONDS = Histogram(
    "rt_job_tick_duration_seconds",
    "Duration of one scheduler job tick, by job name.",
    ["job_name"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0),
)
CARRIER_NUMBER_ERRORS = Counter(
    "rt_carrier_number_errors",
    "Polls of one tracking number that failed while its carrier answered others, by carrier.",
    ["carrier"],
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


class TimeZoneGuessCollector(Collector):
    """``adapters.base.time_zone_guesses``: how each scan's time was put in UTC, by carrier.

    ``how`` is one of ``adapters.base.TIME_ZONE_HOWS`` (``adapters/zones.py`` has the rule);
    a rising share of ``destination`` or ``utc`` means carrier times are being guessed.
    """

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(
            "rt_scan_time_zone_guess",
            "Carrier scan times put in UTC, by carrier and how: their own offset, or the zone of "
            "the postal code, state, city, country or destination, or read as UTC.",
            labels=["carrier", "how"],
        )
        for (carrier, how), count in sorted(adapters_base.time_zone_guesses.items()):
            family.add_metric([carrier, how], count)
        yield family


REGISTRY.register(TimeZoneGuessCollector())


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
