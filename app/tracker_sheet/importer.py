"""Importing a tracker spreadsheet: find or register each row's parcel, recreate its incident.

Idempotent on (order id, tracking number): a row whose parcel already has an incident is
reported as ``exists`` and left alone, so running the same file twice imports nothing new.
Every row goes in inside its own savepoint: a row is imported whole or not at all, and one bad
row never costs the others. A dry run (the default) makes the same checks, database included,
and writes nothing. The caller owns the transaction: it commits a real run.

What an imported incident looks like: its columns as the sheet gave them; its timeline is the
sheet's Internal Action Log (our export's lines keep their time, actor and kind; any other
line becomes a note), every entry marked with the row it came from. No events are raised:
a seller moving months of history in must not flood their webhooks. A parcel registered for
a resolved row is not polled (old journeys would only spend carrier quota).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.core.actors import Actor
from app.core.errors import AppError
from app.core.settings import DateOrder
from app.incidents import service as incidents
from app.incidents.actors import actor_named
from app.incidents.models import Incident
from app.incidents.timeline import append_entry
from app.incidents.views import format_number
from app.parcels import service as parcels
from app.parcels.models import Parcel
from app.stuck import checks as stuck_checks
from app.tracker_sheet.reader import MAX_IMPORT_ROWS, FileRejected, RowError, Table
from app.tracker_sheet.rows import TrackerRow, parse_row

Outcome = Literal["valid", "imported", "exists", "invalid"]


@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int
    outcome: Outcome
    incident_id: uuid.UUID | None = None
    number: str | None = None


@dataclass
class ImportReport:
    dry_run: bool
    file_type: str
    date_order: DateOrder
    ignored_columns: list[str]
    outcomes: list[RowOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)


def import_table(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    table: Table,
    dry_run: bool,
    actor: Actor,
    now: datetime,
    default_next_step_hours: int,
    date_order: DateOrder = "iso",
) -> ImportReport:
    """Check every row (and import the valid ones unless ``dry_run``); flushes, never commits.

    ``date_order`` reads dates such as 03/04/2026; ISO dates and XLSX date cells need none.
    """
    report = ImportReport(
        dry_run=dry_run,
        file_type=table.kind,
        date_order=date_order,
        ignored_columns=table.ignored_columns,
    )
    seen: dict[tuple[str, str], int] = {}
    for count, (number, values) in enumerate(table.rows, start=1):
        if count > MAX_IMPORT_ROWS:
            raise FileRejected(
                [RowError(number, None, f"more than {MAX_IMPORT_ROWS:,} rows; split the file")]
            )
        row, errors = parse_row(number, table.cells(values), now=now, date_order=date_order)
        if row is not None and row.key in seen:
            errors = [
                RowError(
                    number,
                    "Tracking Number",
                    f"duplicate of row {seen[row.key]} (same Order ID and Tracking Number)",
                )
            ]
        if row is None or errors:
            report.errors += errors
            report.outcomes.append(RowOutcome(number, "invalid"))
            continue
        seen[row.key] = number
        outcome = _import_row(
            session,
            tenant_id=tenant_id,
            row=row,
            dry_run=dry_run,
            actor=actor,
            now=now,
            next_step_hours=default_next_step_hours,
            errors=report.errors,
        )
        report.outcomes.append(outcome)
    return report


def _existing(
    session: Session, tenant_id: uuid.UUID, row: TrackerRow
) -> tuple[Parcel | None, Incident | None, RowError | None]:
    parcel = parcels.find_parcel(
        session,
        tenant_id=tenant_id,
        carrier=row.carrier,
        tracking_number=row.parcel.tracking_number,
    )
    if parcel is None:
        return None, None, None
    if parcel.order_id != row.parcel.order_id:
        reason = f"tracking number {parcel.tracking_number} belongs to order {parcel.order_id}"
        return parcel, None, RowError(row.row, "Order ID", reason)
    incident = session.exec(
        select(Incident)
        .where(col(Incident.parcel_id) == parcel.id)
        .order_by(col(Incident.opened_at))
        .limit(1)
    ).first()
    return parcel, incident, None


def _import_row(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    row: TrackerRow,
    dry_run: bool,
    actor: Actor,
    now: datetime,
    next_step_hours: int,
    errors: list[RowError],
) -> RowOutcome:
    parcel, existing, problem = _existing(session, tenant_id, row)
    if problem is not None:
        errors.append(problem)
        return RowOutcome(row.row, "invalid")
    if existing is not None:
        return RowOutcome(row.row, "exists", existing.id, format_number(existing.number))
    if dry_run:
        return RowOutcome(row.row, "valid")
    try:
        with session.begin_nested():
            incident = _create(session, tenant_id, row, parcel, actor, now, next_step_hours)
    except (SQLAlchemyError, AppError) as exc:  # e.g. another import registered it meanwhile
        detail = exc.detail if isinstance(exc, AppError) else "it conflicts with a saved row"
        errors.append(RowError(row.row, None, f"not imported: {detail}"))
        return RowOutcome(row.row, "invalid")
    return RowOutcome(row.row, "imported", incident.id, format_number(incident.number))


def _register(session: Session, tenant_id: uuid.UUID, row: TrackerRow, now: datetime) -> Parcel:
    parcel = parcels.register_parcel(
        session, tenant_id=tenant_id, data=row.parcel, carrier=row.carrier, now=now
    )
    scan = row.last_scan
    if scan is not None:  # what the sheet said, until the carrier's own scans replace it
        parcel.status = parcel.last_scan_status = scan.status.value
        parcel.last_scan_at = scan.at
        parcel.last_scan_description = scan.description
        parcel.last_scan_city = scan.city
        parcel.last_scan_country = scan.country
    if row.status == "resolved":
        parcel.next_poll_at = None
        parcel.stuck_check_at = None
        session.add(parcel)
    else:
        stuck_checks.schedule(session, parcel=parcel, now=now)
    session.flush()
    return parcel


def _create(
    session: Session,
    tenant_id: uuid.UUID,
    row: TrackerRow,
    parcel: Parcel | None,
    actor: Actor,
    now: datetime,
    next_step_hours: int,
) -> Incident:
    parcel = parcel or _register(session, tenant_id, row, now)
    values = dict(row.values)
    if row.status != "resolved" and values["next_step_action"] is None:
        step = incidents.default_next_step(source=row.source, now=now, hours=next_step_hours)
        values |= {"next_step_action": step.action, "next_step_due_at": step.due_at}
    incident = Incident(
        tenant_id=tenant_id,
        number=incidents.next_number(session, tenant_id),
        parcel_id=parcel.id,
        type=row.type,
        source=row.source,
        status=row.status,
        resolution=row.resolution,
        opened_at=row.opened_at,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(incident)
    session.flush()
    origin = {"imported_from_row": row.row}
    for line in row.log:
        append_entry(
            session,
            tenant_id=tenant_id,
            incident_id=incident.id,
            kind=line.kind,
            actor=actor_named(session, tenant_id=tenant_id, name=line.actor),
            summary=line.text,
            now=now,
            occurred_at=line.at,
            data=origin,
        )
    for note in row.notes:
        append_entry(
            session,
            tenant_id=tenant_id,
            incident_id=incident.id,
            kind="note",
            actor=actor,
            summary=note,
            now=now,
            data={**origin, "unparsed_log_line": True},
        )
    if not row.log and not row.notes:
        append_entry(
            session,
            tenant_id=tenant_id,
            incident_id=incident.id,
            kind="imported",
            actor=actor,
            summary=f"Imported from the tracker spreadsheet, row {row.row}",
            now=now,
            data=origin,
        )
    return incident
