"""The carrier adapter contract: one normalised scan model for every carrier.

Adapters never import ``app``. The service talks to carriers only through this module's
types, so adding a carrier is one new module plus one entry in ``adapters/registry.py``.

Normalised statuses (``ScanStatus``), one set for every carrier (``docs/carriers.md`` §6; how
each carrier's codes map onto it is in that carrier's section there):

============================  ===========================================================
``info_received``             label / manifest / pre-advice only; no physical scan yet
``accepted``                  the carrier or post has the parcel (pickup, posting)
``in_transit``                moving through the network (hubs, flights, sorting)
``customs_hold``              presented to or held by customs; clearance pending
``out_for_delivery``          on the delivery vehicle / with the courier
``failed_attempt``            delivery attempted, not completed
``available_for_pickup``      waiting at a service point, post office or locker
``delivered``                 delivered to the recipient or an agent (terminal)
``exception``                 carrier-declared problem (damage, address, refused, seized)
``returned_to_sender``        returning or returned to the shipper (terminal when back)
``cancelled``                 shipment or label voided (terminal)
``unknown``                   a raw code we have not mapped: logged and counted, never
                              silently treated as ``in_transit``
============================  ===========================================================

Per-number outcomes are data, not exceptions: a batch returns one ``TrackingResult`` per
number, which is ``found`` (with scans), ``not_found``, or ``error`` (with a message). One bad
number never sinks a batch. A ``found`` result also carries the carrier's own delivery estimate
(``DeliveryWindow``) when the answer has one; ``adapters/estimates.py`` reads them.

Whole-call failures raise this small tree::

    CarrierError                  base; carries ``carrier``
    ├── CarrierAuthError          credentials refused (401/403, bad OAuth client)
    ├── CarrierRateLimited        429 / quota; ``retry_after`` = seconds the carrier asked for
    ├── CarrierUnavailable        timeouts, connection errors, 5xx, circuit breaker open
    └── CarrierMalformedResponse  body is not what the carrier documents (raw body kept)
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, get_args, runtime_checkable

logger = logging.getLogger("adapters")


class ScanStatus(enum.StrEnum):
    """The one normalised status set; see the module docstring for each meaning."""

    INFO_RECEIVED = "info_received"
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    CUSTOMS_HOLD = "customs_hold"
    OUT_FOR_DELIVERY = "out_for_delivery"
    FAILED_ATTEMPT = "failed_attempt"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


Network = Literal["express", "postal"]

TERMINAL_STATUSES = frozenset(
    {ScanStatus.DELIVERED, ScanStatus.RETURNED_TO_SENDER, ScanStatus.CANCELLED}
)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a scan happened; any part may be unknown. ``country`` is ISO 3166 alpha-2."""

    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    """One carrier event, normalised, with the raw values kept beside it for evidence."""

    status: ScanStatus
    occurred_at: datetime  # timezone-aware, UTC
    description: str
    location: Location = field(default_factory=Location)
    raw_code: str | None = None
    raw_text: str | None = None
    raw_timestamp: str | None = None
    carrier_delay: bool = False
    exception_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryWindow:
    """The carrier's own expectation of when a parcel arrives: local calendar days at the
    destination, both ends included (one day when ``earliest == latest``). ``source`` names
    the answer's field it came from (``docs/carriers.md`` §10)."""

    earliest: date
    latest: date
    source: str = ""


@dataclass(frozen=True, slots=True)
class TrackingResult:
    """The outcome for one tracking number of a batch: scans, not found, or an error."""

    tracking_number: str
    outcome: Literal["found", "not_found", "error"]
    scans: tuple[Scan, ...] = ()
    error: str | None = None
    call_failed: bool = False
    """An ``error`` because the call for this number failed (timeout, 5xx), not an answer."""
    failure: CarrierError | None = field(default=None, compare=False, repr=False)
    """With ``call_failed``: the exception the call raised (a refresh answers with it)."""
    estimated_delivery: DeliveryWindow | None = None
    """With ``found``: the carrier's delivery estimate, when its answer has one."""

    @classmethod
    def found(
        cls, number: str, scans: Sequence[Scan], *, estimate: DeliveryWindow | None = None
    ) -> TrackingResult:
        ordered = tuple(sorted(scans, key=lambda s: s.occurred_at))
        return cls(
            tracking_number=number, outcome="found", scans=ordered, estimated_delivery=estimate
        )

    @classmethod
    def not_found(cls, number: str) -> TrackingResult:
        return cls(tracking_number=number, outcome="not_found")

    @classmethod
    def failed(cls, number: str, message: str) -> TrackingResult:
        """The carrier answered, refusing this number (unknown format, not its number...)."""
        return cls(tracking_number=number, outcome="error", error=message)

    @classmethod
    def unanswered(cls, number: str, error: CarrierError) -> TrackingResult:
        """The call for this one number failed: that number's problem, not its carrier's."""
        message = f"{type(error).__name__}: {error.message}"
        return cls(
            tracking_number=number,
            outcome="error",
            error=message,
            call_failed=True,
            failure=error,
        )


@dataclass(frozen=True, slots=True)
class TrackingQuery:
    """One number to track plus the hints a carrier can use (DHL origin, FedEx ship date).

    ``registered_at`` is when the seller registered the parcel with us; the sandbox carrier
    anchors its journeys on it. ``destination_country`` (ISO alpha-2) also places event times
    that carry no UTC offset and name no better place (``adapters/zones.py``).
    """

    number: str
    registered_at: datetime | None = None
    shipped_at: datetime | None = None
    origin_country: str | None = None
    destination_country: str | None = None


@dataclass(slots=True)
class CarrierHealth:
    """What ``GET /v1/carriers`` shows: last success, last error, breaker state."""

    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    breaker_state: Literal["closed", "open", "half_open"] = "closed"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a carrier's API allows; the scheduler sizes batches and pacing from this."""

    batch_size: int
    requests_per_second: float
    max_concurrency: int
    daily_quota: int | None = None


class CarrierError(Exception):
    """A whole call to a carrier failed; per-number problems are ``TrackingResult`` data."""

    carrier_wide = False
    """True when the error says nothing works for anyone (credentials, quota), so a failing
    batch is not split to find a bad number in it."""

    def __init__(self, carrier: str, message: str) -> None:
        super().__init__(f"{carrier}: {message}")
        self.carrier = carrier
        self.message = message


class CarrierAuthError(CarrierError):
    """The carrier refused our credentials."""

    carrier_wide = True


class CarrierRateLimited(CarrierError):
    """The carrier asked us to slow down; ``retry_after`` is its wait in seconds, if given."""

    carrier_wide = True

    def __init__(self, carrier: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(carrier, message)
        self.retry_after = retry_after


class CarrierUnavailable(CarrierError):
    """Timeouts, connection failures, 5xx after retries, or the circuit breaker is open."""


class CarrierMalformedResponse(CarrierError):
    """The body does not have the carrier's documented shape; ``raw`` keeps a capped copy."""

    def __init__(self, carrier: str, message: str, raw: str = "") -> None:
        super().__init__(carrier, message)
        self.raw = raw[:4096]


@runtime_checkable
class CarrierAdapter(Protocol):
    """What the service needs from a carrier. Implementations live one per module."""

    code: str
    name: str
    # an express courier (DHL, FedEx, UPS) or a postal network (EMS, China Post): stuck
    # thresholds and polling intervals differ between the two
    network: Network
    capabilities: Capabilities
    # the public page with ``checkdigits.PAGE_NUMBER`` where the number goes (``fill_page``),
    # when it depends on nothing else; None when the number picks the page (DHL's Express
    # numbers, EMS's Chinese items). The fast tracker export writes such links in SQL.
    page_template: str | None

    @property
    def configured(self) -> bool:
        """True when credentials are set; an unconfigured adapter still detects and links."""
        ...

    def health(self) -> CarrierHealth:
        """Current health of the carrier connection (shared HTTP client state)."""
        ...

    def tracking_url(self, number: str) -> str:
        """The carrier's public tracking page for a customer."""
        ...

    def matches(self, number: str) -> bool:
        """True when ``number`` has this carrier's format *and* a valid check digit."""
        ...

    async def fetch(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Track up to ``capabilities.batch_size`` numbers; one result per query, in order.

        Raises a ``CarrierError`` subclass only when the whole call failed.
        """
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...


@runtime_checkable
class LooseFormats(Protocol):
    """An adapter that also knows a number format too common to prove anything (SF Express's
    bare 12 digits). Such a number makes the carrier a candidate the API names when it asks
    the client for ``carrier``; it never makes it the detected carrier."""

    def could_match(self, number: str) -> bool:
        """True when ``number`` has one of those loose formats (and ``matches`` is False)."""
        ...


unmapped_codes: Counter[tuple[str, str]] = Counter()


def record_unmapped(carrier: str, raw_code: str, raw_text: str | None = None) -> ScanStatus:
    """Count and log a raw code we do not know; always returns ``ScanStatus.UNKNOWN``."""
    unmapped_codes[(carrier, raw_code)] += 1
    logger.warning(
        "unmapped carrier code", extra={"carrier": carrier, "code": raw_code, "text": raw_text}
    )
    return ScanStatus.UNKNOWN


# How an event time was put in UTC (``adapters/zones.py`` has the rule, one row per value).
TimeZoneHow = Literal["offset", "postal", "state", "city", "country", "destination", "utc"]
TIME_ZONE_HOWS: tuple[TimeZoneHow, ...] = get_args(TimeZoneHow)

time_zone_guesses: Counter[tuple[str, TimeZoneHow]] = Counter()


def record_time_zone(carrier: str, how: TimeZoneHow) -> None:
    """Count how one scan's time was placed: ``rt_scan_time_zone_guess_total{carrier,how}``."""
    time_zone_guesses[(carrier, how)] += 1


# Set while the poller bisects a failed batch to find the one number that broke it: those
# calls are expected to fail (the half holding the bad number always does), so they tell
# nothing of the carrier's health and must not open its breaker for every other number.
# A context variable, so it covers exactly the calls made inside the bisection's own task.
ISOLATING_A_NUMBER: ContextVar[bool] = ContextVar("isolating_a_number", default=False)


@contextmanager
def isolating_a_number() -> Iterator[None]:
    """Calls made in this block fail without counting towards the circuit breaker."""
    token = ISOLATING_A_NUMBER.set(True)
    try:
        yield
    finally:
        ISOLATING_A_NUMBER.reset(token)
