"""``GET /v1/incidents/{id}``: one incident with its parcel and owner, read the cheap way.

It is the call a storefront polls, so it skips the session: on PostgreSQL one prepared
statement on the event loop (``app.db.reads``), its row loaded into detached instances
(``app.db.detached``), and the view built from them by the same ``incident_view`` every
other answer uses. On SQLite, or before the app's lifespan opened the read pool, it is the
ORM read in a worker thread, as before. ``tests/incidents/test_reading.py`` holds the two
ways to the same answer on PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from app.core.errors import NotFound
from app.db.detached import RowShape
from app.db.engine import Database
from app.db.reads import AsyncReads
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.incidents.schemas import IncidentRead
from app.incidents.views import incident_view
from app.parcels.models import Parcel
from app.people.models import User


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class IncidentReader:
    """The incident's view and its ETag, for one tenant."""

    def __init__(self, database: Database, reads: AsyncReads | None) -> None:
        self.database = database
        self.reads = reads
        self.shape = RowShape([Incident, Parcel, User], database.engine.dialect)
        incidents_, parcels, users = _table(Incident), _table(Parcel), _table(User)
        statement = (
            select(*self.shape.columns)
            .select_from(
                incidents_.join(parcels, parcels.c.id == incidents_.c.parcel_id).outerjoin(
                    users, users.c.id == incidents_.c.assignee_id
                )
            )
            .where(
                incidents_.c.id == bindparam("incident_id"),
                incidents_.c.tenant_id == bindparam("tenant_id"),
            )
        )
        self.sql = str(statement.compile(dialect=database.engine.dialect))

    async def view(
        self, *, tenant_id: uuid.UUID, incident_id: uuid.UUID, now: datetime
    ) -> tuple[IncidentRead, str]:
        """(the incident's view, its ETag); ``NotFound`` when the tenant has no such incident.

        Raises ``DatabaseUnavailable`` (the read pool) or SQLAlchemy's ``OperationalError``
        (the session) when the database cannot answer."""
        if self.reads is None or not self.reads.is_open():
            return await anyio.to_thread.run_sync(self.view_in_session, tenant_id, incident_id, now)
        fetched = await self.reads.fetch_one(
            self.sql, {"incident_id": incident_id, "tenant_id": tenant_id}
        )
        if fetched is None:
            raise NotFound(f"incident {incident_id} not found")
        incident, parcel, assignee = self.shape.load(fetched.row, fetched.type_codes)
        assert isinstance(incident, Incident)
        assert isinstance(parcel, Parcel)
        set_committed_value(incident, "assignee", assignee)  # loaded, not an edit
        return incident_view(incident, parcel, now=now), incidents.etag(incident)

    def view_in_session(
        self, tenant_id: uuid.UUID, incident_id: uuid.UUID, now: datetime
    ) -> tuple[IncidentRead, str]:
        """The same through the ORM, in a session (blocking: run it in a worker thread)."""
        with self.database.session() as session:
            incident, parcel = incidents.get_incident_with_parcel(
                session, tenant_id=tenant_id, incident_id=incident_id
            )
            return incident_view(incident, parcel, now=now), incidents.etag(incident)
