"""An incident opened for a parcel shows what the customer was told before it existed.

Messages outside any incident (bulk notices) are evidence of what the customer already knew
when they complained, or when detection found the parcel stuck. When an incident opens, each
one becomes an entry of its timeline (kind ``earlier_message``, at the time the message was
written), in the opener's transaction: the opener holds the new incident's row, so the
timeline's sequence cannot race. The entry records the delivery as it stood then; what becomes
of the e-mail later is on the message itself (``GET /v1/parcels/{id}/messages``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import bindparam, exists, literal_column
from sqlmodel import Session, col, select

from app.db.detached import RowShape
from app.db.row_insert import RowInsert, postgresql_dialect
from app.db.tx_cache import per_transaction
from app.db.types import UTCDateTime
from app.incidents.models import TimelineEntry
from app.incidents.timeline import SYSTEM, append_entry, chained_values
from app.notify.models import Notice
from app.outbox.events import Write
from app.outbox.models import Event
from app.workflow.messages.models import CustomerMessage


def show_earlier_messages(session: Session, event: Event) -> None:
    """Outbox subscriber: on ``incident.opened``, one entry per message without an incident."""
    if event.type != "incident.opened" or event.incident_id is None or event.parcel_id is None:
        return
    if event.tenant_id is None or not _sends_notices(session, event.tenant_id):
        return
    earlier = session.exec(
        select(CustomerMessage)
        .where(
            CustomerMessage.parcel_id == event.parcel_id,
            col(CustomerMessage.incident_id).is_(None),
            col(CustomerMessage.occurred_at) <= event.occurred_at,
        )
        .order_by(col(CustomerMessage.occurred_at), col(CustomerMessage.id))
    ).all()
    for message in earlier:
        append_entry(session, **_entry_for(message, event.incident_id, event.occurred_at))


def _entry_for(message: CustomerMessage, incident_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The earlier message's timeline entry, as ``append_entry`` and ``chained_values`` take it:
    at the time the message was written, recording its delivery as it stood."""
    return {
        "tenant_id": message.tenant_id,
        "incident_id": incident_id,
        "kind": "earlier_message",
        "actor": SYSTEM,
        "summary": earlier_summary(message),
        "now": now,
        "occurred_at": message.occurred_at,
        "data": _entry_data(message),
    }


def _entry_data(message: CustomerMessage) -> dict[str, str | None]:
    return {
        "message_id": str(message.id),
        "notice_id": str(message.notice_id) if message.notice_id else None,
        "direction": message.direction,
        "channel": message.channel,
        "template_key": message.template_key,
        "subject": message.subject,
        "delivery": message.delivery,
        "delivery_error": message.delivery_error,
    }


class _OnConnection:
    """``show_earlier_messages`` on a plain connection (a writer without the ORM,
    ``app.incidents.opening``): the same checks and entries, the statements compiled once."""

    def __init__(self) -> None:
        dialect = postgresql_dialect()
        notices = Notice.__table__  # type: ignore[attr-defined]
        entries = TimelineEntry.__table__  # type: ignore[attr-defined]
        messages = CustomerMessage.__table__  # type: ignore[attr-defined]
        self.shape = RowShape([CustomerMessage], dialect)
        self.sends_notices_sql = str(
            select(exists().where(notices.c.tenant_id == bindparam("tenant_id"))).compile(
                dialect=dialect
            )
        )
        self.earlier_sql = str(
            select(*self.shape.columns)
            .where(
                messages.c.parcel_id == bindparam("parcel_id"),
                messages.c.incident_id.is_(None),
                messages.c.occurred_at <= bindparam("occurred_at", type_=UTCDateTime()),
            )
            .order_by(messages.c.occurred_at, messages.c.id)
            .compile(dialect=dialect)
        )
        self.last_entry_sql = str(
            select(entries.c.seq, entries.c.hash)
            .where(entries.c.incident_id == bindparam("incident_id"))
            .order_by(entries.c.seq.desc())
            .limit(literal_column("1"))
            .compile(dialect=dialect)
        )
        self.insert = RowInsert(TimelineEntry, dialect)

    async def __call__(
        self, connection: psycopg.AsyncConnection[Any], event: Event
    ) -> Write | None:
        """Read the messages without an incident; answer with their entries, which follow the
        incident's last entry (read in the event's transaction), or None when there are none."""
        if event.type != "incident.opened" or event.incident_id is None or event.parcel_id is None:
            return None
        if event.tenant_id is None:
            return None
        cursor = await connection.execute(self.sends_notices_sql, {"tenant_id": event.tenant_id})
        sends = await cursor.fetchone()
        if sends is None or not sends[0]:
            return None
        cursor = await connection.execute(
            self.earlier_sql,
            {"parcel_id": event.parcel_id, "occurred_at": event.occurred_at.astimezone(UTC)},
        )
        rows = await cursor.fetchall()
        if not rows:
            return None
        result = cursor.pgresult
        assert result is not None
        codes = tuple(result.ftype(i) for i in range(result.nfields))
        earlier = [self.shape.load(row, codes)[0] for row in rows]
        incident_id = event.incident_id

        async def write(connection: psycopg.AsyncConnection[Any]) -> None:
            cursor = await connection.execute(self.last_entry_sql, {"incident_id": incident_id})
            last = await cursor.fetchone()
            after: tuple[int, str] | None = (last[0], last[1]) if last else None
            for message in earlier:
                assert isinstance(message, CustomerMessage)
                values = chained_values(
                    after=after, **_entry_for(message, incident_id, event.occurred_at)
                )
                await connection.execute(self.insert.sql, self.insert.params(values))
                after = (values["seq"], values["hash"])

        return write


show_earlier_messages_on_connection = _OnConnection()


def _sends_notices(session: Session, tenant_id: uuid.UUID) -> bool:
    """Whether the tenant ever sent a notice, read once per transaction: only notices are
    messages outside any incident, and a detection tick opens incidents by the thousand."""
    known: dict[uuid.UUID, bool] = per_transaction(session, "tenant_sends_notices")
    if tenant_id not in known:
        known[tenant_id] = (
            session.exec(select(Notice.id).where(Notice.tenant_id == tenant_id).limit(1)).first()
            is not None
        )
    return known[tenant_id]


def earlier_summary(message: CustomerMessage) -> str:
    """ "Notice e-mailed to the customer before this incident: <summary> (<delivery>)"."""
    if message.proactive and message.channel == "email" and message.direction == "out":
        what = "Notice e-mailed to the customer"
    else:
        arrow = "to" if message.direction == "out" else "from"
        what = f"Message {arrow} the customer ({message.channel})"
    state = {
        "queued": "queued",
        "sent": "sent",
        "failed": f"failed: {message.delivery_error}",
        "not_sent": f"not sent: {message.delivery_error}",
    }.get(message.delivery or "")
    return f"{what} before this incident: {message.summary}" + (f" ({state})" if state else "")
