"""``POST /v1/incidents`` for a known parcel, on PostgreSQL without the ORM.

Through the ORM an incident cost about 6 ms of the worker's CPU: eight statements, each built,
compiled and executed through SQLAlchemy, the unit of work's flushes (the incident, then its
entry and event autoflushed before the webhook routes are read), and a worker thread per
request fighting the others for the GIL. At 32 storefront connections on one worker that made
a p99 of 300 ms and more. Here the same rows are written on the event loop, on a connection of
the app's write pool (``app.db.reads.AsyncReads`` with ``read_only=False``):

1. the parcel and the incident's number, in one autocommit statement: 404 as before when the
   tenant has no such parcel (and then no number is taken), the number committed apart as
   ``Database.commit_apart`` does, without waiting for the disk;
2. what each outbox subscriber's twin needs to read (``app.outbox.events.writes_for``): the
   webhook routes and the deliveries waiting ahead, the messages sent before the incident;
3. the incident, its first entry and its ``incident.opened`` event in one statement, alone
   when no subscriber writes anything (a statement is atomic by itself), else in a
   transaction with the subscribers' writes (the deliveries, the earlier-message entries).

Every statement is a round trip, and each costs the loop about 60 us of psycopg's waiting
machinery, so the common case is four of them.

The rows are built by the functions the ORM path uses (``incidents.opening_values``, the
outbox's row of an event through ``written_event``, ``incident_view``), and written with
``app.db.row_insert``, so both paths store the same values; ``tests/incidents/test_opening.py``
opens incidents both ways and compares every row. The twins read before the rows are written,
where the ORM path reads after its flush: under READ COMMITTED either read sees what was
committed before it, and nothing they read depends on the new rows. What this path does not do,
the ORM path still does, in a worker thread as before: SQLite, a parcel given by tracking
number (it may need registering), a request holding an Idempotency-Key claim (its mark commits
with the work), a subscriber without a twin, or one that asks for the session
(``NeedsSession``, before anything but the number is written; that number is skipped, as a
failed creation skips one).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from psycopg import AsyncRawCursor
from sqlalchemy import Table, bindparam, exists, literal_column, select, true

from app.core.actors import Actor
from app.core.errors import NotFound
from app.db.detached import RowShape, detached_instance
from app.db.reads import AsyncReads, DatabaseUnavailable
from app.db.row_insert import NativeStatement, RowInsert, postgresql_dialect
from app.incidents import service as incidents
from app.incidents.models import Incident, TimelineEntry
from app.incidents.schemas import IncidentCreate, IncidentRead, NextStep
from app.incidents.views import incident_view
from app.outbox.events import (
    NeedsSession,
    NewEvent,
    connection_subscribers,
    writes_for,
    written_event,
)
from app.outbox.models import Event
from app.parcels.models import Parcel

WRITE_POOL_SIZE = 4
APPLICATION_NAME = "rt-writes"  # how they show in pg_stat_activity


class Opened(NamedTuple):
    incident: Incident
    view: IncidentRead  # the answer, and the event's "incident"


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class IncidentOpener:
    """Opens an incident for a parcel given by id, on the app's write pool."""

    def __init__(self, writes: AsyncReads | None) -> None:
        self.writes = writes
        dialect = postgresql_dialect()
        self.parcel_shape = RowShape([Parcel], dialect)
        parcels = _table(Parcel)
        parcel = (
            select(*self.parcel_shape.columns)
            .where(parcels.c.id == bindparam("parcel_id"))
            .where(parcels.c.tenant_id == bindparam("tenant_id"))
            .cte("parcel")
        )
        number = (
            incidents.numbers_statement(bindparam("tenant_id"), bindparam("count"))
            .where(exists(select(literal_column("1")).select_from(parcel)))  # none for a 404
            # SET LOCAL inside the statement: its own commit does not wait for the disk
            .returning(literal_column("set_config('synchronous_commit', 'off', true)"))
            .cte("number")
        )
        # the parcel and, when the tenant has it, the incident's number, committed apart
        self.parcel_and_number_sql = str(
            select(*parcel.c, number.c.incident_seq)
            .select_from(parcel.outerjoin(number, true()))
            .compile(dialect=dialect)
        )
        self.incident_insert = RowInsert(Incident, dialect, prefix="i_")
        self.entry_insert = RowInsert(TimelineEntry, dialect, prefix="t_")
        self.event_insert = RowInsert(Event, dialect, prefix="e_")
        # the three rows in one statement: PostgreSQL checks the foreign keys at its end
        self.opening = NativeStatement(
            f"WITH incident AS ({self.incident_insert.sql}), "
            f"entry AS ({self.entry_insert.sql}) {self.event_insert.sql}"
        )

    def can_open(self, body: IncidentCreate) -> bool:
        """Whether this path can open ``body``'s incident (call it on the loop)."""
        return body.parcel_id is not None and self.writes is not None and self.writes.is_open()

    async def open(
        self,
        *,
        tenant_id: uuid.UUID,
        body: IncidentCreate,
        actor: Actor,
        now: datetime,
        next_step: NextStep,
        reported: datetime | None,
    ) -> Opened | None:
        """The incident opened and its view at ``now``; None when a subscriber has no twin on a
        connection or needs the session (the caller then opens it through the ORM).
        ``NotFound`` for a parcel the tenant lacks, ``DatabaseUnavailable`` when the database
        cannot be reached."""
        assert self.writes is not None
        assert body.parcel_id is not None
        subscribers = connection_subscribers()
        if subscribers is None:
            return None
        try:
            async with self.writes.connection() as connection:
                parcel, number = await self._parcel_and_number(
                    connection, tenant_id, body.parcel_id
                )
                incident_row, entry_row = incidents.opening_values(
                    parcel=parcel,
                    number=number,
                    type=body.type,
                    source=body.source,
                    actor=actor,
                    now=now,
                    next_step=next_step,
                    description=body.description,
                    customer_reported_at=reported,
                )
                incident = detached_instance(Incident, incident_row)
                view = incident_view(incident, parcel, now=now)
                event = written_event(
                    NewEvent(
                        "incident.opened",
                        now,
                        incident.tenant_id,
                        incidents.incident_event_payload_text(incident, parcel, now, view),
                        parcel_id=parcel.id,
                        incident_id=incident.id,
                    )
                )
                try:
                    writes = await writes_for(connection, event, subscribers)
                except NeedsSession:
                    return None  # its number is skipped, as a failed creation skips one
                params = self.opening.values(
                    {
                        **self.incident_insert.params(incident_row),
                        **self.entry_insert.params(entry_row),
                        **self.event_insert.params(event.__dict__),
                    }
                )
                if not writes:  # one statement: atomic by itself, no transaction to open
                    await self._execute_raw(connection, self.opening.sql, params)
                else:
                    async with connection.transaction():
                        await self._execute_raw(connection, self.opening.sql, params)
                        for write in writes:
                            await write(connection)
                return Opened(incident, view)
        except (psycopg.OperationalError, TimeoutError) as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    @staticmethod
    async def _execute_raw(
        connection: psycopg.AsyncConnection[Any], sql: str, params: list[Any]
    ) -> None:
        async with AsyncRawCursor(connection) as cursor:
            await cursor.execute(sql, params)

    async def _parcel_and_number(
        self, connection: psycopg.AsyncConnection[Any], tenant_id: uuid.UUID, parcel_id: uuid.UUID
    ) -> tuple[Parcel, int]:
        """The parcel, and the tenant's next incident number, in one autocommit statement:
        the number is committed on its own, as ``next_number`` takes it
        (``Database.commit_apart``), without waiting for the disk (the incident's own commit
        flushes it). No transaction of ours is open meanwhile, so waiting for the tenant's
        row lock cannot wait for ourselves. A parcel the tenant lacks takes no number."""
        cursor = await connection.execute(
            self.parcel_and_number_sql, {"parcel_id": parcel_id, "tenant_id": tenant_id, "count": 1}
        )
        row = await cursor.fetchone()
        result = cursor.pgresult
        if row is None or result is None:
            raise NotFound(f"parcel {parcel_id} not found")
        if row[-1] is None:
            raise RuntimeError(f"tenant {tenant_id} has no row")
        codes = tuple(result.ftype(i) for i in range(result.nfields - 1))
        parcel = self.parcel_shape.load(row[:-1], codes)[0]
        assert isinstance(parcel, Parcel)
        return parcel, int(row[-1])
