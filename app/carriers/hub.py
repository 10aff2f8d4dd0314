"""The service's view of the carrier registry: codes, detection, public links, live adapters."""

from __future__ import annotations

import httpx

from adapters import registry
from adapters.base import CarrierAdapter
from app.carriers.schemas import (
    CarrierCandidate,
    CarrierCapabilities,
    CarrierHealthRead,
    CarrierRead,
)
from app.core.errors import NotFound, ValidationFailed

SANDBOX = "sandbox"


def carrier_codes() -> list[str]:
    return list(registry.carrier_codes())


def resolve_carrier(carrier: str | None, tracking_number: str, *, field: str = "carrier") -> str:
    """The client's carrier if it is known (it may always override), else the detected one."""
    if carrier is not None:
        if carrier not in registry.ADAPTERS:
            raise ValidationFailed(field, f"unknown carrier {carrier!r}; known: {carrier_codes()}")
        return carrier
    candidates = detect(tracking_number)
    if len(candidates) == 1:
        return candidates[0].code
    reason = (
        "matches no carrier's format and check digit"
        if not candidates
        else f"matches several carriers: {[c.code for c in candidates]}"
    )
    raise ValidationFailed(
        field,
        f"tracking number {tracking_number!r} {reason}; give carrier explicitly",
        candidates=[c.model_dump() for c in candidates],
    )


def detect(tracking_number: str) -> list[CarrierCandidate]:
    return [
        CarrierCandidate(
            code=code,
            name=registry.ADAPTERS[code].name,
            tracking_url=tracking_url(code, tracking_number),
        )
        for code in registry.detect(tracking_number)
    ]


def carrier_name(carrier: str) -> str:
    """The carrier's display name ("FedEx"), or its code when we do not know it."""
    adapter = registry.ADAPTERS.get(carrier)
    return adapter.name if adapter is not None else carrier


def tracking_url(carrier: str, tracking_number: str) -> str:
    return str(registry.tracking_url(carrier, tracking_number))


class CarrierHub:
    """This process's adapters, built inside the event loop that will use their clients."""

    def __init__(self, adapters: dict[str, CarrierAdapter]) -> None:
        self.adapters = adapters

    @classmethod
    def from_registry(cls, *, transport: httpx.AsyncBaseTransport | None = None) -> CarrierHub:
        return cls(dict(registry.build_all(transport=transport)))

    def get(self, code: str) -> CarrierAdapter:
        try:
            return self.adapters[code]
        except KeyError:
            raise NotFound(f"carrier {code!r} is not known") from None

    def describe(self) -> list[CarrierRead]:
        return [describe(adapter) for adapter in self.adapters.values()]

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()


def describe(adapter: CarrierAdapter) -> CarrierRead:
    caps, health = adapter.capabilities, adapter.health()
    return CarrierRead(
        code=adapter.code,
        name=adapter.name,
        configured=adapter.configured,
        sandbox=adapter.code == SANDBOX,
        capabilities=CarrierCapabilities(
            batch_size=caps.batch_size,
            requests_per_second=caps.requests_per_second,
            max_concurrency=caps.max_concurrency,
            daily_quota=caps.daily_quota,
        ),
        health=CarrierHealthRead(
            last_success_at=health.last_success_at,
            last_error_at=health.last_error_at,
            last_error=health.last_error,
            breaker_state=health.breaker_state,
        ),
    )
