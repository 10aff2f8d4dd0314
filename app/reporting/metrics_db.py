"""The database half of ``/metrics``: one aggregate query per scrape, cached briefly.

Every number here is the state of the whole system, so it must not depend on which replica
answers the scrape. One ``UNION ALL`` statement reads all of it (each part served by an index
or a small table), and the result is kept ``RT_METRICS_CACHE_SECONDS`` per process, so any
number of scrapers costs the database at most one query per replica per period.

The statement yields rows ``(metric, label_a, label_b, label_c, value)``; ``read_snapshot``
folds them into a ``Snapshot``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    text,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import literal_column
from sqlmodel import Session, col, select

from adapters.base import TERMINAL_STATUSES
from app.db.engine import Database
from app.db.types import UTCDateTime
from app.incidents.models import Incident
from app.parcels.models import Parcel
from app.webhooks.models import IS_PENDING, WebhookDelivery

log = logging.getLogger("app.core.metrics")
FIRST_RESPONSE_BUCKETS: tuple[float, ...] = (
    300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 259200, 604800,
)  # fmt: skip
RESOLUTION_BUCKETS: tuple[float, ...] = (
    3600, 14400, 43200, 86400, 172800, 259200, 432000, 604800, 1209600, 2592000, 5184000,
)  # fmt: skip
WEBHOOK_STATUSES = ("pending", "delivered", "failed", "cancelled")
_TERMINAL = sorted(status.value for status in TERMINAL_STATUSES)
# Written out, not bound: a prepared statement's generic plan can then use the partial indexes
# (``ix_incidents_open_next_step_due_at``, ``uq_incidents_open_auto_parcel``).
_UNRESOLVED = text("incidents.status != 'resolved'")
_RESOLVED = text("incidents.status = 'resolved'")
_OPEN_AUTOMATIC = text("incidents.source = 'auto' AND incidents.status != 'resolved'")
_ARITY = {  # how many labels each part of the statement fills
    "incidents_open": 3,
    "incidents_opened": 2,
    "incidents_resolved": 1,
    "next_steps_overdue": 1,
    "parcels_active": 2,
    "parcels_stuck": 1,
    "webhook_deliveries": 1,
    "first_response": 1,
    "resolution": 1,
}


@dataclass(frozen=True, slots=True)
class HistogramData:
    """Cumulative bucket counts (upper bound -> count), as Prometheus wants them."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    total: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    incidents_open: dict[tuple[str, str, str], int] = field(default_factory=dict)
    incidents_opened: dict[tuple[str, str], int] = field(default_factory=dict)
    incidents_resolved: dict[str, int] = field(default_factory=dict)
    next_steps_overdue: dict[str, int] = field(default_factory=dict)
    parcels_active: dict[tuple[str, str], int] = field(default_factory=dict)
    parcels_stuck: dict[str, int] = field(default_factory=dict)
    webhook_deliveries: dict[str, int] = field(default_factory=dict)
    webhook_oldest_pending_seconds: float = 0.0
    first_response: HistogramData = HistogramData((), 0, 0.0)
    resolution: HistogramData = HistogramData((), 0, 0.0)


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[float]:
    """``later - earlier`` in seconds, on PostgreSQL and on SQLite (which stores text)."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _name(metric: str) -> ColumnElement[str]:
    return literal_column(f"'{metric}'", String)


def _label(value: Any) -> ColumnElement[str]:
    return cast(func.coalesce(value, ""), String) if value is not None else literal_column("''")


def _part(
    metric: str,
    value: Any,
    *labels: Any,
) -> Select[tuple[str, str, str, str, float]]:
    padded = [_label(label) for label in labels] + [_label(None)] * (3 - len(labels))
    return select(  # type: ignore[call-overload,no-any-return]
        _name(metric).label("metric"),
        padded[0].label("a"),
        padded[1].label("b"),
        padded[2].label("c"),
        cast(value, Float).label("value"),
    )


def _histogram_parts(
    metric: str,
    seconds: ColumnElement[float],
    buckets: tuple[float, ...],
    present: Any,
) -> list[Select[tuple[str, str, str, str, float]]]:
    bucket = case(
        *[(seconds <= bound, literal_column(f"'{bound:g}'")) for bound in buckets],
        else_=literal_column("'+Inf'"),
    )
    per_bucket = _part(metric, func.count(), bucket).where(present).group_by(bucket)
    total = _part(f"{metric}_sum", func.coalesce(func.sum(seconds), 0.0)).where(present)
    return [per_bucket, total]


def snapshot_statement(now: datetime, dialect: str) -> Select[tuple[str, str, str, str, float]]:
    """The one statement a scrape runs."""
    at = literal(now, UTCDateTime())
    parcel_join = col(Parcel.id) == col(Incident.parcel_id)
    response_start = func.coalesce(col(Incident.customer_reported_at), col(Incident.opened_at))
    parts = [
        _part("incidents_open", func.count(), col(Incident.type), col(Incident.status),
              col(Parcel.carrier))
        .join_from(Incident, Parcel, parcel_join).where(_UNRESOLVED)
        .group_by(col(Incident.type), col(Incident.status), col(Parcel.carrier)),
        _part("incidents_opened", func.count(), col(Incident.type), col(Incident.source))
        .select_from(Incident).group_by(col(Incident.type), col(Incident.source)),
        _part("incidents_resolved", func.count(), col(Incident.resolution))
        .select_from(Incident).where(_RESOLVED)
        .group_by(col(Incident.resolution)),
        _part("next_steps_overdue", func.count(), col(Incident.type))
        .select_from(Incident).where(_UNRESOLVED, col(Incident.next_step_due_at) < at)
        .group_by(col(Incident.type)),
        _part("parcels_active", func.count(), col(Parcel.carrier), col(Parcel.status))
        .select_from(Parcel).where(col(Parcel.status).not_in(_TERMINAL))
        .group_by(col(Parcel.carrier), col(Parcel.status)),
        _part("parcels_stuck", func.count(func.distinct(col(Incident.parcel_id))),
              col(Parcel.carrier))
        .join_from(Incident, Parcel, parcel_join)
        .where(_OPEN_AUTOMATIC).group_by(col(Parcel.carrier)),
        *webhook_parts(at, dialect),
        *_histogram_parts(
            "first_response",
            seconds_between(col(Incident.first_response_at), response_start, dialect),
            FIRST_RESPONSE_BUCKETS,
            col(Incident.first_response_at).is_not(None),
        ),
        *_histogram_parts(
            "resolution",
            seconds_between(col(Incident.resolved_at), col(Incident.opened_at), dialect),
            RESOLUTION_BUCKETS,
            col(Incident.resolved_at).is_not(None),
        ),
    ]  # fmt: skip
    return union_all(*parts)  # type: ignore[return-value]


def webhook_parts(at: Any, dialect: str) -> list[Select[tuple[str, str, str, str, float]]]:
    """Deliveries by status, and the age of the oldest one still pending.

    Reads ``app.webhooks.models.WebhookDelivery`` (``status``: pending, delivered,
    failed, cancelled; ``created_at``: when it was queued).
    """
    oldest = seconds_between(at, func.min(col(WebhookDelivery.created_at)), dialect)
    return [
        _part("webhook_deliveries", func.count(), col(WebhookDelivery.status))
        .select_from(WebhookDelivery)
        .group_by(col(WebhookDelivery.status)),
        _part("webhook_oldest_pending", func.coalesce(oldest, 0.0))
        .select_from(WebhookDelivery)
        .where(IS_PENDING),
    ]


def _cumulative(counts: dict[str, int], bounds: tuple[float, ...], total: float) -> HistogramData:
    running, buckets = 0, []
    for bound in bounds:
        running += counts.get(f"{bound:g}", 0)
        buckets.append((bound, running))
    running += counts.get("+Inf", 0)
    return HistogramData(tuple(buckets), running, total)


def read_snapshot(session: Session, *, now: datetime) -> Snapshot:
    """Run the statement and fold its rows into a ``Snapshot``."""
    dialect = session.get_bind().dialect.name
    by_metric: dict[str, dict[tuple[str, ...], float]] = {}
    for metric, a, b, c, value in session.execute(snapshot_statement(now, dialect)):
        arity = _ARITY.get(metric, 0)
        by_metric.setdefault(metric, {})[(a, b, c)[:arity]] = float(value or 0)

    def counts(metric: str) -> dict[tuple[str, ...], int]:
        return {labels: int(v) for labels, v in by_metric.get(metric, {}).items()}

    def single(metric: str) -> float:
        return by_metric.get(metric, {}).get((), 0.0)

    def histogram(metric: str, bounds: tuple[float, ...]) -> HistogramData:
        per_bucket = {labels[0]: n for labels, n in counts(metric).items()}
        return _cumulative(per_bucket, bounds, single(f"{metric}_sum"))

    return Snapshot(
        taken_at=now,
        incidents_open={(k[0], k[1], k[2]): n for k, n in counts("incidents_open").items()},
        incidents_opened={(k[0], k[1]): n for k, n in counts("incidents_opened").items()},
        incidents_resolved={k[0]: n for k, n in counts("incidents_resolved").items()},
        next_steps_overdue={k[0]: n for k, n in counts("next_steps_overdue").items()},
        parcels_active={(k[0], k[1]): n for k, n in counts("parcels_active").items()},
        parcels_stuck={k[0]: n for k, n in counts("parcels_stuck").items()},
        webhook_deliveries={k[0]: n for k, n in counts("webhook_deliveries").items()},
        webhook_oldest_pending_seconds=max(0.0, single("webhook_oldest_pending")),
        first_response=histogram("first_response", FIRST_RESPONSE_BUCKETS),
        resolution=histogram("resolution", RESOLUTION_BUCKETS),
    )


class SnapshotCache:
    """One snapshot per ``ttl_seconds`` per process; concurrent scrapes wait for one query."""

    def __init__(
        self,
        db: Database,
        *,
        ttl_seconds: float,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.ttl = ttl_seconds
        self.clock = clock
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._value: Snapshot | None = None
        self._taken = 0.0

    def get(self) -> Snapshot:
        """A fresh snapshot, or the last good one while the database cannot be read (its
        ``taken_at`` then ages, which ``rt_metrics_snapshot_timestamp_seconds`` shows)."""
        with self._lock:
            if self._value is not None and self.monotonic() - self._taken < self.ttl:
                return self._value
            try:
                with self.db.session() as session:
                    self._value = read_snapshot(session, now=self.clock())
            except SQLAlchemyError:
                if self._value is None:
                    raise
                log.warning("metrics snapshot failed; serving the previous one", exc_info=True)
                return self._value
            self._taken = self.monotonic()
            return self._value
