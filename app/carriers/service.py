"""The service's view of the carrier registry: codes, identification by number, public links.

"Identify" is what we call finding the carrier of a tracking number; "detect" is reserved for
stuck detection. The live adapters of a process are ``app.core.carrier_hub.CarrierHub``.
"""

from __future__ import annotations

from adapters import registry
from adapters.base import CarrierAdapter
from app.carriers.schemas import (
    CarrierCandidate,
    CarrierCapabilities,
    CarrierHealthRead,
    CarrierRead,
)
from app.core.carrier_hub import CarrierHub
from app.core.errors import ValidationFailed

SANDBOX = "sandbox"


def carrier_codes() -> list[str]:
    return list(registry.carrier_codes())


def resolve_carrier(carrier: str | None, tracking_number: str, *, field: str = "carrier") -> str:
    """The client's carrier if it is known (it may always override), else the detected one."""
    if carrier is not None:
        if carrier not in registry.ADAPTERS:
            raise ValidationFailed(field, f"unknown carrier {carrier!r}; known: {carrier_codes()}")
        return carrier
    candidates = identify(tracking_number)
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


def identify(tracking_number: str) -> list[CarrierCandidate]:
    return [
        CarrierCandidate(
            code=code,
            name=registry.ADAPTERS[code].name,
            tracking_url=tracking_url(code, tracking_number),
        )
        for code in registry.identify(tracking_number)
    ]


def carrier_name(carrier: str) -> str:
    """The carrier's display name ("FedEx"), or its code when we do not know it."""
    adapter = registry.ADAPTERS.get(carrier)
    return adapter.name if adapter is not None else carrier


def tracking_url(carrier: str, tracking_number: str) -> str:
    return str(registry.tracking_url(carrier, tracking_number))


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


def describe_all(hub: CarrierHub) -> list[CarrierRead]:
    return [describe(adapter) for adapter in hub.adapters.values()]
