"""The sandbox carrier: realistic, deterministic journeys without any carrier account.

Like the test numbers real tracking APIs publish, a sandbox number names its story:
``SANDBOX-<SCENARIO>-<anything>``, e.g. ``SANDBOX-CUSTOMS-0001``. Scans are placed at fixed
offsets after the parcel was shipped (else registered) and appear only once their time has
passed, so a newcomer watches a parcel move, stall, and an incident open, on SQLite, with no
credentials. Every scan says it is from the sandbox.

Scenarios: DELIVERED, INTRANSIT (a scan every day, never quiet), STALLED (silent after
departure), CUSTOMS (held by customs, then silent), FAILED (failed attempt, then waiting at a
pickup point), RETURNED (refused, back to the sender), EXCEPTION (damaged in transit), LOST
(silent, then declared missing), NOTFOUND (the carrier never heard of it) and OUTAGE (the whole
call fails as a carrier outage would).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from adapters.base import (
    Capabilities,
    CarrierHealth,
    CarrierUnavailable,
    Location,
    Network,
    Scan,
    ScanStatus,
    TrackingQuery,
    TrackingResult,
)

S = ScanStatus
_NUMBER = re.compile(r"SANDBOX-([A-Z]+)-[A-Za-z0-9_.-]{1,40}")
ORIGIN = Location(city="Shenzhen", region="Guangdong", postal_code="518000", country="CN")


@dataclass(frozen=True, slots=True)
class Step:
    """One scan of a journey: hours after shipping, status, text, where (origin/destination)."""

    hours: float
    status: ScanStatus
    text: str
    at_destination: bool = False
    delay: bool = False
    reason: str | None = None


_START = (
    Step(0, S.INFO_RECEIVED, "Shipment information received"),
    Step(5, S.ACCEPTED, "Picked up by courier"),
    Step(20, S.IN_TRANSIT, "Departed origin facility"),
)
_TO_DESTINATION = (
    Step(44, S.IN_TRANSIT, "Departed export hub on flight"),
    Step(70, S.IN_TRANSIT, "Arrived at destination country", at_destination=True),
)
JOURNEYS: dict[str, tuple[Step, ...]] = {
    "DELIVERED": (
        *_START,
        *_TO_DESTINATION,
        Step(80, S.IN_TRANSIT, "Customs clearance completed", at_destination=True),
        Step(120, S.IN_TRANSIT, "Arrived at delivery facility", at_destination=True),
        Step(140, S.OUT_FOR_DELIVERY, "Out for delivery", at_destination=True),
        Step(145, S.DELIVERED, "Delivered, left at front door", at_destination=True),
    ),
    "INTRANSIT": (
        *_START,
        *(
            Step(20 + 24 * day, S.IN_TRANSIT, "In transit, processed at sorting centre")
            for day in range(1, 60)
        ),
    ),
    "STALLED": (*_START, Step(44, S.IN_TRANSIT, "Departed export hub on flight")),
    "CUSTOMS": (
        *_START,
        *_TO_DESTINATION,
        Step(
            76,
            S.CUSTOMS_HOLD,
            "Held by customs: awaiting clearance",
            at_destination=True,
            delay=True,
            reason="Customs inspection",
        ),
    ),
    "FAILED": (
        *_START,
        *_TO_DESTINATION,
        Step(120, S.OUT_FOR_DELIVERY, "Out for delivery", at_destination=True),
        Step(
            126,
            S.FAILED_ATTEMPT,
            "Delivery attempted: recipient not available",
            at_destination=True,
            reason="Recipient not available",
        ),
        Step(
            150,
            S.AVAILABLE_FOR_PICKUP,
            "Available for pickup at service point",
            at_destination=True,
        ),
    ),
    "RETURNED": (
        *_START,
        *_TO_DESTINATION,
        Step(120, S.OUT_FOR_DELIVERY, "Out for delivery", at_destination=True),
        Step(
            125,
            S.EXCEPTION,
            "Delivery refused by recipient",
            at_destination=True,
            reason="Refused by recipient",
        ),
        Step(240, S.RETURNED_TO_SENDER, "Returned to sender", reason="Refused by recipient"),
    ),
    "EXCEPTION": (
        *_START,
        *_TO_DESTINATION,
        Step(90, S.EXCEPTION, "Shipment damaged in transit", at_destination=True, reason="Damaged"),
    ),
    "LOST": (
        *_START,
        Step(44, S.IN_TRANSIT, "Departed export hub on flight"),
        Step(24 * 25, S.EXCEPTION, "Shipment cannot be located", reason="Lost in transit"),
    ),
    "NOTFOUND": (),
    "OUTAGE": (),
}


class SandboxAdapter:
    """A carrier that needs no credentials; see the module docstring."""

    code = "sandbox"
    name = "Sandbox (test carrier)"
    page_template: str | None = None  # the number as given, not normalised
    network: Network = "express"
    capabilities = Capabilities(batch_size=50, requests_per_second=0, max_concurrency=8)

    def __init__(
        self,
        settings: object = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._health = CarrierHealth()

    @property
    def configured(self) -> bool:
        return True

    def health(self) -> CarrierHealth:
        return self._health

    def tracking_url(self, number: str) -> str:
        return f"https://sandbox.resolution-tracker.invalid/track/{number}"

    def matches(self, number: str) -> bool:
        match = _NUMBER.fullmatch(number.strip())
        return match is not None and match.group(1) in JOURNEYS

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        now = self._clock()
        if any(scenario_of(q.number) == "OUTAGE" for q in queries):
            self._health.last_error_at, self._health.last_error = now, "sandbox outage"
            raise CarrierUnavailable(self.code, "sandbox outage scenario: carrier not answering")
        self._health.last_success_at = now
        return [journey(q, now) for q in queries]

    async def aclose(self) -> None:
        return None


def scenario_of(number: str) -> str | None:
    match = _NUMBER.fullmatch(number.strip())
    return match.group(1) if match and match.group(1) in JOURNEYS else None


def journey(query: TrackingQuery, now: datetime) -> TrackingResult:
    """The scans of ``query``'s scenario that have happened by ``now``."""
    scenario = scenario_of(query.number)
    if scenario is None or scenario == "NOTFOUND":
        return TrackingResult.not_found(query.number)
    start = query.shipped_at or query.registered_at or now
    # a stable few minutes of jitter per number, so parcels of one batch do not move in lockstep
    jitter = int(hashlib.sha256(query.number.encode()).hexdigest()[:4], 16) % 47
    destination = Location(country=(query.destination_country or "US").upper())
    origin = ORIGIN if not query.origin_country else Location(country=query.origin_country.upper())
    scans = []
    for step in JOURNEYS[scenario]:
        occurred = start + timedelta(hours=step.hours, minutes=jitter)
        if occurred > now:
            break
        raw = occurred.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        scans.append(
            Scan(
                status=step.status,
                occurred_at=occurred.astimezone(UTC),
                description=f"[sandbox] {step.text}",
                location=destination if step.at_destination else origin,
                raw_code=f"SBX-{step.status.value.upper()}",
                raw_text=step.text,
                raw_timestamp=raw,
                carrier_delay=step.delay,
                exception_reason=step.reason,
            )
        )
    return TrackingResult.found(query.number, scans)
