"""The scheduler process publishes its own job, carrier and breaker figures."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.sandbox import SandboxAdapter
from app.scheduler.metrics_server import serve_process_metrics
from bench.load import free_port
from tests.factories import ApiClient
from tests.jobs import run_job


@pytest.fixture
def metrics_url() -> Iterator[str]:
    port = free_port()
    server = serve_process_metrics("127.0.0.1", port, [SandboxAdapter()])
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_job_ticks_and_breakers_are_served_without_the_api(
    metrics_url: str, ops: ApiClient
) -> None:
    ok = ("rt_job_ticks_total", (("job_name", "overdue"), ("outcome", "ok")))
    before = _samples(metrics_url).get(ok, 0.0)

    run_job(ops, "overdue")
    after = _samples(metrics_url)

    assert after[ok] == before + 1
    assert after[("rt_job_tick_duration_seconds_count", (("job_name", "overdue"),))] >= 1
    # `job` and `instance` are the labels Prometheus sets from the scrape target: none of ours
    assert [key for key in after if {"job", "instance"} & {label for label, _ in key[1]}] == []
    breaker = ("rt_carrier_breaker_state", (("carrier", "sandbox"), ("state", "closed")))
    assert after[breaker] == 1.0
    # the database figures are the API replicas' job: a scheduler scrape never queries
    assert not any(name.startswith("rt_incidents_open") for name, _ in after)
