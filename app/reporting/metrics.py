"""The database half of ``/metrics`` rendered: gauges and histograms from one cached snapshot."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from adapters import registry as carrier_registry
from adapters.base import (
    CarrierAdapter,
)
from app.core.metrics import BreakerStateCollector
from app.incidents.schemas import IncidentType
from app.reporting.metrics_db import WEBHOOK_STATUSES, HistogramData, Snapshot


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
