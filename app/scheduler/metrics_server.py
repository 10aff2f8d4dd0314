"""The scheduler process's own ``/metrics``: it is the one calling the carriers.

API replicas serve ``/metrics`` through FastAPI, but in a scaled-out deployment the carrier
calls, circuit breakers and job ticks happen in ``python -m app.scheduler``, which has no HTTP
server. prometheus-client's small threaded server publishes this process's figures. The
database figures stay with the API replicas (each reports the same ones), so a scrape of a
scheduler never queries the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from adapters.base import CarrierAdapter
from app.core.metrics import BreakerStateCollector


class _ProcessMetrics(Collector):
    """Everything this process counted, plus its carriers' breaker states."""

    def __init__(self, adapters: Iterable[CarrierAdapter]) -> None:
        self._breakers = BreakerStateCollector(adapters)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self._breakers.collect()


def serve_process_metrics(host: str, port: int, adapters: Iterable[CarrierAdapter]) -> WSGIServer:
    """Start the listener in a daemon thread; ``shutdown()`` the returned server to stop it."""
    server, _thread = start_http_server(port, addr=host, registry=_ProcessMetrics(adapters))
    return server
