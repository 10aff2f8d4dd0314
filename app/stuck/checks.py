"""When must detection look at a parcel again? Stored as ``parcels.stuck_check_at``.

Judging every active parcel on every tick would not scale to a million parcels, and nothing
about a parcel's verdict changes until its threshold passes. So whenever a parcel's facts
change (registered, new scans, rules changed) we compute the moment its verdict can next
change, and the detect-stuck tick reads only the parcels whose moment has come, through an
index: a tick with nothing new to open touches no parcel rows at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

import psycopg
from sqlalchemy import Uuid, bindparam, column, event, table, update
from sqlmodel import Session

from adapters.base import ScanStatus
from app.core.calendars import add_business_days
from app.db.types import UTCDateTime
from app.stuck.rules import rules_for
from app.stuck.verdict import NEVER_STUCK, ParcelFacts, StuckRule, Verdict, judge


class Checkable(Protocol):
    """What detection reads of a parcel, and the one column it writes (``stuck_check_at``).

    A protocol rather than the parcels table itself: parcels depend on stuck detection (a new
    parcel is scheduled at once), so detection must not depend on them.
    """

    tenant_id: uuid.UUID
    carrier: str
    status: str
    created_at: datetime
    last_scan_at: datetime | None
    last_scan_country: str | None
    origin_country: str | None
    destination_country: str | None
    stuck_check_at: datetime | None
    failed_attempts: int
    last_scan_description: str | None
    last_exception_reason: str | None
    detection_rearm_after: datetime | None
    detection_settled_at: datetime | None


def is_armed(parcel: Checkable) -> bool:
    """May detection open an incident for this parcel? (re-arming: see ``verdict``)."""
    if parcel.detection_settled_at is not None:
        return False
    rearm_after = parcel.detection_rearm_after
    return rearm_after is None or (
        parcel.last_scan_at is not None and parcel.last_scan_at > rearm_after
    )


# the columns ``recheck_tenant`` touches, by name (see ``Checkable`` for why not the model)
_PARCELS = table(
    "parcels",
    column("id", Uuid()),
    column("tenant_id", Uuid()),
    column("status"),
    column("stuck_check_at", UTCDateTime()),
    column("detection_settled_at", UTCDateTime()),
)


def facts_of(parcel: Checkable) -> ParcelFacts:
    return ParcelFacts(
        carrier=parcel.carrier,
        status=ScanStatus(parcel.status),
        registered_at=parcel.created_at,
        last_scan_at=parcel.last_scan_at,
        last_scan_country=parcel.last_scan_country,
        origin_country=parcel.origin_country,
        destination_country=parcel.destination_country,
        failed_attempts=parcel.failed_attempts,
        reason_text=" ".join(
            t for t in (parcel.last_scan_description, parcel.last_exception_reason) if t
        ).lower(),
        armed=is_armed(parcel),
    )


def next_check(verdict: Verdict) -> datetime | None:
    """The next moment the verdict can change, assuming this one has been acted on."""
    if verdict.kind in ("presumed_lost", "returned"):
        return None
    lost_at = (
        add_business_days(verdict.since, verdict.lost_threshold.business_days, verdict.country)
        if verdict.lost_threshold is not None
        else None
    )
    if verdict.kind is not None:  # stuck or exception: next comes "presumed lost"
        return lost_at
    moments = [t for t in (verdict.stuck_at, lost_at) if t is not None]
    return min(moments, default=None)


def schedule(
    session: Session,
    *,
    parcel: Checkable,
    now: datetime,
    rules: Sequence[StuckRule] | None = None,
) -> Verdict:
    """Judge ``parcel`` now and store when it is due for detection (now, if already stuck)."""
    if rules is None:
        rules = rules_for(session, parcel.tenant_id)
    verdict = judge(facts_of(parcel), now=now, rules=rules)
    parcel.stuck_check_at = check_at(parcel, verdict, now=now)
    session.add(parcel)
    return verdict


def check_at(parcel: Checkable, verdict: Verdict, *, now: datetime) -> datetime | None:
    """When detection must look at ``parcel`` again, given its verdict now. Pure: a caller
    writing many parcels in one statement (the tracker import) stores it itself."""
    if verdict.stuck:
        return now  # the next tick opens (or updates) its incident
    if ScanStatus(parcel.status) in NEVER_STUCK or not is_armed(parcel):
        return None  # a new scan schedules it again
    return next_check(verdict)


@contextmanager
def storing_check_times(
    session: Session, moments: Sequence[tuple[uuid.UUID, datetime | None]]
) -> Iterator[None]:
    """Store many parcels' ``stuck_check_at`` (parcel id, moment) in one statement, which runs
    on the server while the block runs; leaving the block waits for it (and raises its error).

    The detect-stuck tick reschedules every parcel of its batch: one ORM UPDATE per parcel
    cost it more than judging them. On PostgreSQL one ``UPDATE ... FROM unnest(ids, moments)``,
    sent in pipeline mode: nobody reads its result, so the server updates the parcels (and
    their eleven indexes) while the block builds the batch's rows. Until the block ends the
    connection is the pipeline's, so the block must not use the database: a statement there
    raises ``DatabaseBusy`` (on SQLite too, where the UPDATE simply runs first). Each moment
    goes through ``UTCDateTime`` as an ORM write would; both arrays travel in psycopg's binary
    format (its text format escapes every item in Python).
    """
    connection = session.connection()
    dialect = connection.dialect
    if moments and dialect.name != "postgresql":
        session.execute(
            update(_PARCELS)
            .where(_PARCELS.c.id == bindparam("parcel_id"))
            .values(stuck_check_at=bindparam("moment")),
            [{"parcel_id": i, "moment": m} for i, m in moments],
        )
    event.listen(connection, "before_cursor_execute", _refuse_statements)
    try:
        if not moments or dialect.name != "postgresql":
            yield
            return
        utc = UTCDateTime()
        values = {
            "ids": [parcel_id for parcel_id, _ in moments],
            "moments": [utc.process_bind_param(moment, dialect) for _, moment in moments],
        }
        driver = connection.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        with driver.pipeline(), driver.cursor() as cursor:
            cursor.execute(_STORE_CHECK_TIMES, values)
            yield
    finally:
        event.remove(connection, "before_cursor_execute", _refuse_statements)


class DatabaseBusy(RuntimeError):
    """A statement inside ``storing_check_times``: its connection is still sending the UPDATE."""


def _refuse_statements(*_args: object) -> None:
    raise DatabaseBusy("inside storing_check_times the database is busy: use it after the block")


_STORE_CHECK_TIMES = """
    UPDATE parcels SET stuck_check_at = given.moment
    FROM unnest(%(ids)b::uuid[], %(moments)b::timestamptz[]) AS given (id, moment)
    WHERE parcels.id = given.id
"""


def recheck_tenant(session: Session, *, tenant_id: uuid.UUID, now: datetime) -> int:
    """New rules: every active parcel of the tenant is looked at by the next tick."""
    statement = (
        update(_PARCELS)
        .where(
            _PARCELS.c.tenant_id == tenant_id,
            _PARCELS.c.status.not_in([s.value for s in NEVER_STUCK]),
            _PARCELS.c.detection_settled_at.is_(None),
        )
        .values(stuck_check_at=now)
        .returning(_PARCELS.c.id)
    )
    return len(session.execute(statement).all())
