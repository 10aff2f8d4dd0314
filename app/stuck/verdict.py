"""Is this parcel stuck? A pure function of (parcel facts, now, rules, calendars).

The clock runs from the last scan (or from registration when there is none) and counts
**business days in the country where the parcel now is**: the last scan's country, else the
origin. Weekends and public holidays do not count, so Spring Festival or Golden Week in China
does not flood the desk with false alarms.

Thresholds, in business days (express = DHL/FedEx/UPS, postal = EMS/China Post):

====================== ======= ======
status                 express postal
====================== ======= ======
info_received          3       5
accepted / in_transit  4       8
unknown                4       8
customs_hold           3       7
out_for_delivery       2       2
failed_attempt         3       3
available_for_pickup   5       5
exception              at once at once
presumed lost          20      30      (no scan at all for this long, whatever the status)
====================== ======= ======

Delivered and cancelled parcels are never stuck. A parcel is stuck when the elapsed time
*exceeds* its threshold. Tenants override any threshold by carrier, status and destination
country; the most specific matching rule wins (``presumed_lost`` is the status name of the
lost threshold).

Some scans need someone at once, whatever the time since (a complaint in the making):

============================================ ================== ==========================
the parcel                                   verdict kind       incident type opened
============================================ ================== ==========================
returned_to_sender                           ``returned``       returned (with the reason)
failed_attempt, the 2nd attempt or later     ``delivery_failed`` delivery_failed
customs_hold asking for payment or documents ``customs_action`` customs
exception                                    ``exception``      from the carrier's words
============================================ ================== ==========================

When detection opens nothing (re-arming, ``ParcelFacts.armed``): an incident of the parcel
was resolved and no scan newer than the resolution has arrived since, or the resolution
settled the order (refund, reshipment, compensation, cancellation). See
``app.incidents.service.disarm_detection`` for the table of resolutions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from adapters import registry
from adapters.base import Network, Scan, ScanStatus
from app.core.calendars import add_business_days, business_days_between

CarrierClass = Network
PRESUMED_LOST = "presumed_lost"
DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {  # (express, postal)
    ScanStatus.INFO_RECEIVED: (3, 5),
    ScanStatus.ACCEPTED: (4, 8),
    ScanStatus.IN_TRANSIT: (4, 8),
    ScanStatus.UNKNOWN: (4, 8),
    ScanStatus.CUSTOMS_HOLD: (3, 7),
    ScanStatus.OUT_FOR_DELIVERY: (2, 2),
    ScanStatus.FAILED_ATTEMPT: (3, 3),
    ScanStatus.AVAILABLE_FOR_PICKUP: (5, 5),
    PRESUMED_LOST: (20, 30),
}
NEVER_STUCK = frozenset({ScanStatus.DELIVERED, ScanStatus.RETURNED_TO_SENDER, ScanStatus.CANCELLED})
"""Statuses that never go quiet in a way that matters (a return opens its incident at once)."""
REPEATED_ATTEMPTS = 2
# words in a customs hold's scan that mean the customer or the seller must act (pay, send papers)
_CUSTOMS_ACTION_WORDS = (
    "payment", "pay ", "duties", "duty", "tax", "vat", "fee", "charges",
    "document", "invoice", "paperwork", "information required", "id ", "identification",
    "customs declaration", "clearance instructions", "awaiting information",
)  # fmt: skip
VerdictKind = Literal[
    "exception", "no_movement", "presumed_lost", "returned", "delivery_failed", "customs_action"
]
RULE_STATUSES = frozenset(DEFAULT_THRESHOLDS) | {ScanStatus.EXCEPTION.value}


@dataclass(frozen=True, slots=True)
class StuckRule:
    """A tenant's override: any of carrier / status / destination, and the threshold."""

    business_days: float
    carrier: str | None = None
    status: str | None = None
    destination_country: str | None = None

    @property
    def specificity(self) -> int:
        return sum(v is not None for v in (self.carrier, self.status, self.destination_country))

    def matches(self, *, carrier: str, status: str, destination_country: str | None) -> bool:
        return (
            self.carrier in (None, carrier)
            and self.status in (None, status)
            and self.destination_country in (None, destination_country)
        )

    def describe(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("carrier", self.carrier),
                ("status", self.status),
                ("destination", self.destination_country),
            )
            if value is not None
        ]
        return "tenant rule " + (" ".join(parts) or "(all parcels)")


@dataclass(frozen=True, slots=True)
class ParcelFacts:
    """What detection needs to know about a parcel, nothing more."""

    carrier: str
    status: ScanStatus
    registered_at: datetime
    last_scan_at: datetime | None = None
    last_scan_country: str | None = None
    origin_country: str | None = None
    destination_country: str | None = None
    failed_attempts: int = 0
    reason_text: str = ""
    """The newest scan's words (description and exception reason), lower case."""
    armed: bool = True
    """False while detection must open nothing (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Threshold:
    business_days: float
    rule: str


@dataclass(frozen=True, slots=True)
class Verdict:
    stuck: bool
    kind: VerdictKind | None
    since: datetime
    country: str | None
    elapsed_business_days: float
    threshold: Threshold | None
    lost_threshold: Threshold | None
    stuck_at: datetime | None  # when it becomes (or became) stuck; None when it never will


def carrier_class(carrier: str) -> CarrierClass:
    """Each adapter says whether it is an express courier or a postal network."""
    return registry.network(carrier)


def threshold_for(facts: ParcelFacts, status: str, rules: Sequence[StuckRule]) -> Threshold | None:
    """The most specific tenant rule for (carrier, status, destination), else the default."""
    matching = [
        r
        for r in rules
        if r.matches(
            carrier=facts.carrier, status=status, destination_country=facts.destination_country
        )
    ]
    if matching:
        best = max(matching, key=lambda r: r.specificity)
        return Threshold(best.business_days, best.describe())
    default = DEFAULT_THRESHOLDS.get(status)
    if default is None:
        return None
    klass = carrier_class(facts.carrier)
    days = default[0] if klass == "express" else default[1]
    return Threshold(days, f"default {klass} {status}")


def needs_customs_action(reason_text: str) -> bool:
    """A customs hold whose words ask for payment or documents (not a routine inspection)."""
    text = f" {reason_text.lower()} "
    return any(word in text for word in _CUSTOMS_ACTION_WORDS)


def _at_once_kind(facts: ParcelFacts, status: ScanStatus) -> VerdictKind | None:
    if status == ScanStatus.RETURNED_TO_SENDER:
        return "returned"
    if status == ScanStatus.FAILED_ATTEMPT and facts.failed_attempts >= REPEATED_ATTEMPTS:
        return "delivery_failed"
    if status == ScanStatus.CUSTOMS_HOLD and needs_customs_action(facts.reason_text):
        return "customs_action"
    return None


def judge(facts: ParcelFacts, *, now: datetime, rules: Sequence[StuckRule] = ()) -> Verdict:
    since = facts.last_scan_at or facts.registered_at
    country = facts.last_scan_country or facts.origin_country
    elapsed = business_days_between(since, now, country)
    status = ScanStatus(facts.status)
    if not facts.armed:
        return Verdict(False, None, since, country, elapsed, None, None, None)
    at_once = _at_once_kind(facts, status)
    if status in NEVER_STUCK and at_once is None:
        return Verdict(False, None, since, country, elapsed, None, None, None)
    lost = threshold_for(facts, PRESUMED_LOST, rules) if status not in NEVER_STUCK else None
    lost_at = add_business_days(since, lost.business_days, country) if lost else None
    if at_once is not None:
        return Verdict(True, at_once, since, country, elapsed, None, lost, since)
    if status == ScanStatus.EXCEPTION and not any(r.status == status.value for r in rules):
        return Verdict(True, "exception", since, country, elapsed, None, lost, since)
    threshold = threshold_for(facts, status.value, rules)
    stuck_at = add_business_days(since, threshold.business_days, country) if threshold else None
    if lost_at is not None and now > lost_at:
        return Verdict(True, "presumed_lost", since, country, elapsed, threshold, lost, lost_at)
    if stuck_at is not None and now > stuck_at:
        return Verdict(True, "no_movement", since, country, elapsed, threshold, lost, stuck_at)
    return Verdict(False, None, since, country, elapsed, threshold, lost, stuck_at)


def rule_name(verdict: Verdict) -> str:
    """The rule that fired, as the API and the timeline name it."""
    if verdict.threshold is not None and verdict.kind in ("no_movement", None):
        return verdict.threshold.rule
    if verdict.kind == "presumed_lost" and verdict.lost_threshold is not None:
        return verdict.lost_threshold.rule
    return {
        "exception": "exception opens at once",
        "returned": "returned to sender opens at once",
        "delivery_failed": f"{REPEATED_ATTEMPTS}+ failed delivery attempts open at once",
        "customs_action": "customs asks for payment or documents: opens at once",
    }.get(verdict.kind or "", "no rule")


def facts_from_scans(
    *,
    carrier: str,
    registered_at: datetime,
    scans: Sequence[Scan],
    origin_country: str | None = None,
    destination_country: str | None = None,
) -> ParcelFacts:
    """Facts from scans in any order: the newest by ``occurred_at`` decides."""
    newest = max(scans, key=lambda s: s.occurred_at, default=None)
    return ParcelFacts(
        carrier=carrier,
        status=newest.status if newest else ScanStatus.INFO_RECEIVED,
        registered_at=registered_at,
        last_scan_at=newest.occurred_at if newest else None,
        last_scan_country=newest.location.country if newest else None,
        origin_country=origin_country,
        destination_country=destination_country,
    )
