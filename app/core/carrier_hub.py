"""This process's live carrier adapters: one HTTP client each, built on the loop that uses them.

The API's lifespan and the scheduler process each build one hub; jobs reach it through
``app.core.jobs.JobContext``. What the registry says about carriers (codes, names, links,
identification) is ``app.carriers.service``.
"""

from __future__ import annotations

import httpx

from adapters import registry
from adapters.base import CarrierAdapter
from app.core.errors import NotFound


class CarrierHub:
    """This process's adapters, built inside the event loop that will use their clients."""

    def __init__(self, adapters: dict[str, CarrierAdapter]) -> None:
        self.adapters = adapters

    @classmethod
    def from_registry(cls, *, transport: httpx.AsyncBaseTransport | None = None) -> CarrierHub:
        return cls(dict(registry.build_all(transport=transport)))

    def get(self, code: str) -> CarrierAdapter:
        """The adapter of ``code``; a ``17track:<key>`` one is made on the shared connection."""
        adapter = registry.adapter_for(code, self.adapters)
        if adapter is None:
            raise NotFound(f"carrier {code!r} has no adapter: it is not polled")
        return adapter

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
