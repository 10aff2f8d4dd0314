"""One batch of checked tracker rows against the database, in set-based statements.

``plan_batch`` looks up, in one query for the whole batch (two on SQLite), the parcels its rows
name (by tenant, carrier and tracking number: the parcel's own unique key) and which of them
already have an incident; it decides each row: create, already imported, or an error.
``write_batch`` then inserts the new parcels, incidents and timeline entries, each table in
one COPY on PostgreSQL (multi-row INSERTs on SQLite, see ``app.db.bulk_insert``), and
reserves the incidents' numbers in one step. The caller owns the transaction.

What an imported incident looks like: its columns as the sheet gave them; its timeline is the
sheet's Internal Action Log (our export's lines keep their time, actor and kind; any other line
becomes a note), every entry marked with the row it came from and hash-chained like any other.
No events are raised: a seller moving months of history in must not flood their webhooks. A
parcel registered for a resolved row is not polled (old journeys would only spend carrier quota).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from pydantic_core import PydanticUndefined
from sqlalchemy import Table, text
from sqlmodel import Session, SQLModel, col, select

from app.core.actors import Actor
from app.db.bulk_insert import insert_rows
from app.incidents import service as incidents
from app.incidents.actors import actor_named
from app.incidents.models import Incident, TimelineEntry
from app.incidents.timeline import chained_values
from app.parcels.models import Parcel
from app.parcels.service import parcel_values
from app.stuck import checks as stuck_checks
from app.stuck.rules import rules_for
from app.stuck.verdict import StuckRule, judge
from app.tracker_sheet.columns import ORDER_ID
from app.tracker_sheet.errors import RowError
from app.tracker_sheet.rows import TrackerRow

ParcelKey = tuple[str, str]  # (carrier, tracking number)
# what detection reads of a parcel that no row of ours sets: as a new parcel has them
_ZERO_FACTS: dict[str, Any] = {
    "last_exception_reason": None,
    "detection_rearm_after": None,
    "detection_settled_at": None,
}


@dataclass
class Plan:
    """What a batch will do: rows to create (with their parcel's id when it exists)."""

    create: list[tuple[TrackerRow, uuid.UUID | None]] = field(default_factory=list)
    already_imported: list[TrackerRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _parcel_key(row: TrackerRow) -> ParcelKey:
    return (row.carrier, row.parcel.tracking_number)


# PostgreSQL: the batch's keys as a table joined on the parcels' unique key. Plain IN lists
# (``tracking_number = ANY(...)``) were compared row by row against every parcel of the
# tenant whenever the planner's statistics predated the import (a new install's first big
# import): 500 comparisons per parcel per batch, a re-run of 50,000 rows took 94 s.
#
# Planned afresh each time (``_PLAN_EACH_TIME``, for this transaction): psycopg prepares a
# statement run five times on a connection, and PostgreSQL's generic plan for it knows
# neither the tenant nor how many keys the arrays hold (it guesses 10). That plan probed the
# trigram index of ``tracking_number`` (migration 0007) once per key: every probe read the
# posting lists of trigrams all tracking numbers share ("000"), 2.6 ms at 6,000 parcels and
# growing, so each batch was slower than the one before (200 s of a 50,000-row import). The
# trigram indexes serve the incident list's free-text search and only bitmap scans can read
# them, so bitmap scans are off too: an equality on a unique key is one B-tree probe.
_PLAN_EACH_TIME = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('enable_bitmapscan', 'off', true)"
)
_EXISTING_PG = text(
    """
    SELECT p.id, p.carrier, p.tracking_number, p.order_id,
           EXISTS (SELECT 1 FROM incidents i WHERE i.parcel_id = p.id) AS has_incident
    FROM unnest(CAST(:carriers AS varchar[]), CAST(:numbers AS varchar[])) AS k(carrier, number)
    JOIN parcels p
      ON p.tenant_id = :tenant_id AND p.carrier = k.carrier AND p.tracking_number = k.number
    """
)


def _existing(
    session: Session, tenant_id: uuid.UUID, rows: Sequence[TrackerRow]
) -> dict[ParcelKey, tuple[uuid.UUID, str, bool]]:
    """The batch's parcels that exist: (id, order id, has an incident) by parcel key."""
    keys = sorted({_parcel_key(r) for r in rows})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PLAN_EACH_TIME)
        result = session.execute(
            _EXISTING_PG,
            {
                "tenant_id": tenant_id,
                "carriers": [carrier for carrier, _ in keys],
                "numbers": [number for _, number in keys],
            },
        )
        return {(c, n): (i, o, bool(has)) for i, c, n, o, has in result}
    found = {
        (carrier, number): (parcel_id, order_id)
        for parcel_id, carrier, number, order_id in session.exec(
            select(Parcel.id, Parcel.carrier, Parcel.tracking_number, Parcel.order_id).where(
                Parcel.tenant_id == tenant_id,
                col(Parcel.carrier).in_({carrier for carrier, _ in keys}),
                col(Parcel.tracking_number).in_({number for _, number in keys}),
            )
        )
    }
    with_incident = set(
        session.exec(
            select(Incident.parcel_id)
            .where(col(Incident.parcel_id).in_([parcel_id for parcel_id, _ in found.values()]))
            .distinct()
        )
    )
    return {key: (i, order, i in with_incident) for key, (i, order) in found.items()}


def plan_batch(session: Session, *, tenant_id: uuid.UUID, rows: Sequence[TrackerRow]) -> Plan:
    """Decide every row of the batch with one or two queries; reads only."""
    plan = Plan()
    if not rows:
        return plan
    found = _existing(session, tenant_id, rows)
    owners = {key: order_id for key, (_, order_id, _) in found.items()}
    for row in rows:
        key = _parcel_key(row)
        owner = owners.setdefault(key, row.parcel.order_id)  # a new parcel: this row's order
        if owner != row.parcel.order_id:
            reason = f"tracking number {row.parcel.tracking_number} belongs to order {owner}"
            plan.errors.append(RowError(row.row, ORDER_ID, reason))
        elif key in found and found[key][2]:
            plan.already_imported.append(row)
        else:
            plan.create.append((row, found[key][0] if key in found else None))
    return plan


def _defaults(model: type[SQLModel]) -> dict[str, Any]:
    """The model's own constant defaults (``status``, ``version``, counters): a row inserted
    without building the model gets what a built one would."""
    return {
        name: field.default
        for name, field in model.model_fields.items()
        if field.default is not PydanticUndefined and field.default is not None
    }


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]  # SQLModel leaves it untyped
    assert isinstance(table, Table)
    return table


_PARCEL_DEFAULTS = _defaults(Parcel)
_INCIDENT_DEFAULTS = _defaults(Incident)


def _parcel_row(
    row: TrackerRow, *, tenant_id: uuid.UUID, now: datetime, rules: Sequence[StuckRule]
) -> dict[str, Any]:
    values = _PARCEL_DEFAULTS | parcel_values(
        tenant_id=tenant_id, data=row.parcel, carrier=row.carrier, now=now
    )
    scan = row.last_scan  # what the sheet said, until the carrier's own scans replace it
    values |= {
        "id": uuid.uuid4(),
        "status": scan.status.value if scan else values["status"],
        "last_scan_status": scan.status.value if scan else None,
        "last_scan_at": scan.at if scan else None,
        "last_scan_description": scan.description if scan else None,
        "last_scan_city": scan.city if scan else None,
        "last_scan_country": scan.country if scan else None,
        "stuck_check_at": None,
    }
    if row.status == "resolved":  # an old journey: never polled, never judged
        values["next_poll_at"] = None
    else:
        facts = cast(stuck_checks.Checkable, SimpleNamespace(**(_ZERO_FACTS | values)))
        verdict = judge(stuck_checks.facts_of(facts), now=now, rules=rules)
        values["stuck_check_at"] = stuck_checks.check_at(facts, verdict, now=now)
    return values


def _incident_row(
    row: TrackerRow,
    *,
    tenant_id: uuid.UUID,
    parcel_id: uuid.UUID,
    number: int,
    now: datetime,
    next_step_hours: int,
) -> dict[str, Any]:
    values = dict(row.values)
    if row.status != "resolved" and values["next_step_action"] is None:
        step = incidents.default_next_step(source=row.source, now=now, hours=next_step_hours)
        values |= {"next_step_action": step.action, "next_step_due_at": step.due_at}
    return (
        _INCIDENT_DEFAULTS
        | values
        | {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "number": number,
            "parcel_id": parcel_id,
            "type": row.type,
            "source": row.source,
            "status": row.status,
            "resolution": row.resolution,
            "opened_at": row.opened_at,
            "created_at": now,
            "updated_at": now,
        }
    )


def _timeline(
    row: TrackerRow,
    incident_id: uuid.UUID,
    *,
    tenant_id: uuid.UUID,
    actor: Actor,
    named: Callable[[str], Actor],
    now: datetime,
) -> list[dict[str, Any]]:
    """The sheet's log as chained entries: read lines (their actor read from the name the
    line gives), then unread lines as notes, or one ``imported`` entry when the row has no
    log; those two are the importing key's."""
    origin: dict[str, object] = {"imported_from_row": row.row}
    lines: list[tuple[str, Actor, str, datetime | None, dict[str, object]]] = [
        (line.kind, named(line.actor), line.text, line.at, origin) for line in row.log
    ]
    lines += [
        ("note", actor, note, None, {**origin, "unparsed_log_line": True}) for note in row.notes
    ]
    if not lines:
        summary = f"Imported from the tracker spreadsheet, row {row.row}"
        lines.append(("imported", actor, summary, None, origin))
    entries: list[dict[str, Any]] = []
    for kind, who, summary, occurred_at, data in lines:
        entries.append(
            chained_values(
                tenant_id=tenant_id,
                incident_id=incident_id,
                after=(entries[-1]["seq"], entries[-1]["hash"]) if entries else None,
                kind=kind,
                actor=who,
                summary=summary,
                now=now,
                data=data,
                occurred_at=occurred_at,
            )
        )
    return entries


def _names_read_once(session: Session, tenant_id: uuid.UUID) -> Callable[[str], Actor]:
    """``actor_named`` with a memory: a sheet names the same few people on thousands of
    lines, and each reading is two queries."""
    known: dict[str, Actor] = {}

    def named(name: str) -> Actor:
        if name not in known:
            known[name] = actor_named(session, tenant_id=tenant_id, name=name)
        return known[name]

    return named


def write_batch(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    plan: Plan,
    actor: Actor,
    now: datetime,
    next_step_hours: int,
) -> int:
    """Insert what ``plan`` creates; flushes, never commits. The number of incidents created."""
    if not plan.create:
        return 0
    rules = rules_for(session, tenant_id)
    named = _names_read_once(session, tenant_id)
    last_number = incidents.next_number(session, tenant_id, count=len(plan.create))
    parcels: list[dict[str, Any]] = []
    created: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for offset, (row, parcel_id) in enumerate(plan.create):
        if parcel_id is None:
            parcels.append(_parcel_row(row, tenant_id=tenant_id, now=now, rules=rules))
            parcel_id = parcels[-1]["id"]
        incident = _incident_row(
            row,
            tenant_id=tenant_id,
            parcel_id=parcel_id,
            number=last_number - len(plan.create) + 1 + offset,
            now=now,
            next_step_hours=next_step_hours,
        )
        created.append(incident)
        entries += _timeline(
            row, incident["id"], tenant_id=tenant_id, actor=actor, named=named, now=now
        )
    for model, rows in ((Parcel, parcels), (Incident, created), (TimelineEntry, entries)):
        # in foreign-key order, straight into the table (COPY on PostgreSQL): not the ORM's
        # bulk insert, which splits rows by which values are empty
        insert_rows(session, _table(model), rows)
    return len(created)
