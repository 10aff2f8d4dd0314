"""The tracker export on PostgreSQL: CSV lines written by PostgreSQL, XLSX rows through a
server-side cursor. Both read the query of ``pg_cells`` in one snapshot.

CSV: PostgreSQL writes each row's CSV line, Carrier and Tracking URL cells included, where
it can, and joins the lines in runs (``pg_cells.csv_statement``); Python passes them on. The
rows are cut into slices that two connections read at once, each with the statement
prepared once (``pg_slices``), so memory stays flat whatever the number of rows. Python
writes the two cells of a row whose carrier's page the number picks (DHL, EMS), or whose
name or number SQL cannot write (a 17TRACK key, spaces or lower case in the number).

XLSX: typed cells in batches of ``BATCH_ROWS`` from a named (server-side) cursor, made into
the ``SheetRow``s the writer takes.

A row flagged exotic, or one whose Python cells fail, is written by ``exporter.one_row``
(``sheet_row``, or its stub), read through a session of its own because the export's
connections are busy with the stream.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import Connection, ServerCursor
from sqlalchemy.exc import OperationalError

from app.db.engine import Database
from app.incidents.queries import IncidentFilters
from app.tracker_sheet import columns as sheet
from app.tracker_sheet import exporter, pg_cells, pg_slices
from app.tracker_sheet.columns import SheetRow

BATCH_ROWS = 2_000
# For this transaction only: the text output of dates and times in ISO (``sql_text`` reads
# it); no compiling of the statement to machine code (its cost estimate asks for it, and it
# takes longer than the run: 300 ms for 5,000 rows); a plain index scan for each incident's
# timeline and messages (a bitmap scan, chosen for two rows, costs twice as much).
SESSION = "SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL jit = off; SET LOCAL enable_bitmapscan = off"
_CARRIER_AT = sheet.COLUMNS.index(sheet.CARRIER)
_URL_AT = sheet.COLUMNS.index("Tracking URL")
_AMOUNT_AT = sheet.COLUMNS.index("Compensation Amount")
_PERCENT_AT = sheet.COLUMNS.index("Compensation Percent")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _driver(session: Any) -> Connection[Any]:
    connection: Connection[Any] = session.connection().connection.driver_connection
    return connection


@contextlib.contextmanager
def _as_sqlalchemy_errors(statement: str) -> Iterator[None]:
    """The driver's "database unavailable" as SQLAlchemy's, which the API answers with 503
    (it does for every other query, which goes through SQLAlchemy)."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise OperationalError(statement[:200], None, exc) from exc


def _field(value: str) -> str:
    """One cell as ``csv.writer`` writes it, after ``csv_cell``'s formula guard."""
    text = sheet.csv_cell(value)
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


class _Fallback:
    """Rows written by Python, through a session of their own, opened when first needed."""

    def __init__(self, db: Database, now: datetime, stack: contextlib.ExitStack) -> None:
        self.db, self.now, self.stack = db, now, stack
        self.session: Any = None
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def row(self, incident_id: str | uuid.UUID) -> SheetRow:
        if self.session is None:
            self.session = self.stack.enter_context(self.db.session())
        return exporter.one_row(self.session, uuid.UUID(str(incident_id)), now=self.now)

    def line(self, incident_id: str) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow([sheet.csv_cell(v) for v in self.row(incident_id).values])
        return self.buffer.getvalue()


def csv_chunks(
    db: Database, *, tenant_id: uuid.UUID, filters: IncidentFilters, now: datetime
) -> Iterator[bytes]:
    """The CSV export, byte for byte as ``exporter.csv_chunks(sheet_pages(...))`` writes it.
    Its slices are read by two connections at once (``pg_slices``)."""
    dialect = db.engine.dialect
    ends = pg_cells.slice_ends_statement(
        dialect, tenant_id=tenant_id, filters=filters, now=now, rows=pg_slices.SLICE_ROWS
    )

    def statement(part: pg_cells.Slice) -> tuple[str, dict[str, Any]]:
        return pg_cells.csv_statement(
            dialect, tenant_id=tenant_id, filters=filters, now=now, part=part
        )

    def read(connection: Connection[Any], part: pg_cells.Slice) -> list[bytes | _PythonRow]:
        query, params = first if part.after is None else later
        with _as_sqlalchemy_errors(query):
            return _csv_slice(connection, query, {**params, **pg_cells.place_params(part)})

    with contextlib.ExitStack() as stack:
        with _as_sqlalchemy_errors(ends[0]):
            connections = stack.enter_context(pg_slices.snapshot_connections(db, SESSION))
            parts = pg_slices.slices(connections[0], ends)
        # built once: the first slice's statement, and one that every later slice fills in
        first = statement(parts[0])
        later = statement(parts[-1]) if len(parts) > 1 else first
        fallback = _Fallback(db, now, stack)
        yield next(exporter.csv_chunks(iter(())))  # the byte-order mark and the header
        pieces = stack.enter_context(
            contextlib.closing(pg_slices.in_order(connections, parts, read))
        )
        for piece in itertools.chain.from_iterable(pieces):
            if isinstance(piece, _PythonRow):
                yield fallback.line(piece.incident_id).encode()
            else:
                yield piece


@dataclass(frozen=True, slots=True)
class _PythonRow:
    """A row that ``exporter.one_row`` writes (see the module docstring)."""

    incident_id: str


def _csv_slice(
    connection: Connection[Any], query: str, params: dict[str, Any]
) -> list[bytes | _PythonRow]:
    """One slice's CSV: the lines SQL wrote (a run of them at a time), with the rows Python
    finishes in their places. The statement is prepared: each connection plans it once, not
    once per slice. Each run is encoded as it comes, so a slice is held once, as bytes."""
    carriers = _Carriers()
    pieces: list[bytes | _PythonRow] = []
    with connection.cursor() as cursor:
        cursor.execute(query, params, prepare=True)
        for line, *python in cursor:
            pieces.append(line.encode() if line is not None else _python_row(carriers, python))
    return pieces


def _python_row(carriers: _Carriers, fields: list[Any]) -> bytes | _PythonRow:
    """The Carrier and Tracking URL cells of a row SQL could not finish, or the whole row
    for ``exporter.one_row`` (exotic, or a carrier whose name cannot be written)."""
    incident_id, exotic, carrier, named, number, template, head, middle, tail = fields
    assert incident_id is not None
    assert carrier is not None
    assert number is not None
    if exotic is False and head is not None and middle is not None and tail is not None:
        line = _line(carriers, (carrier, named, number, template), head, middle, tail)
        if line is not None:
            return line.encode()
    return _PythonRow(incident_id)


class _Carriers(dict[tuple[str, str | None], str]):
    """Carrier cells by (carrier, the seller's name for it): a few distinct ones per export."""

    def cell(self, carrier: str, named: str | None) -> str:
        found = self.get((carrier, named))
        if found is None:
            found = self[(carrier, named)] = sheet.carrier_cell(carrier, named)
        return found


def _line(
    carriers: _Carriers,
    parcel: tuple[str, str | None, str, str | None],
    head: str,
    middle: str,
    tail: str,
) -> str | None:
    """The row with its Carrier and Tracking URL cells; None when the carrier's name cannot
    be written (Python writes the row, as a stub)."""
    carrier, named, number, template = parcel
    try:
        name = _field(carriers.cell(carrier, named))
    except Exception:  # sheet_row would fail too: its stub row says so
        return None
    url = _field(sheet.tracking_url_cell(carrier, number, template))
    return f"{head},{name},{middle},{url},{tail}\r\n"


def sheet_pages(
    db: Database,
    *,
    tenant_id: uuid.UUID,
    filters: IncidentFilters,
    now: datetime,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[list[SheetRow]]:
    """The rows of ``exporter.sheet_pages``, in its order, read in batches of ``batch_rows``."""
    query, params = pg_cells.typed_statement(
        db.engine.dialect, tenant_id=tenant_id, filters=filters, now=now
    )
    width = len(sheet.COLUMNS)
    with contextlib.ExitStack() as stack:
        session = stack.enter_context(db.session())
        fallback = _Fallback(db, now, stack)
        _driver(session).execute(SESSION)
        cursor = stack.enter_context(_driver(session).cursor(name="tracker_export"))
        with _as_sqlalchemy_errors(query):
            cursor.execute(query, params)
        carriers = _Carriers()
        # left before the cursor closes: a batch being fetched is waited for first
        for rows in stack.enter_context(_ahead(cursor, batch_rows)):
            page = []
            for row in rows:
                exotic = row[width + 1]
                built = None if exotic else _sheet_row(carriers, list(row[:width]), row[width:])
                page.append(built if built is not None else fallback.row(row[width]))
            yield page


@contextlib.contextmanager
def _ahead(cursor: ServerCursor[Any], batch_rows: int) -> Iterator[Iterator[list[Any]]]:
    """The cursor's batches, each next one fetched in a thread while the caller writes the
    one it has: PostgreSQL builds rows while Python writes them (a fetch waits on the
    server with the GIL released), instead of each waiting for the other. At most two
    batches are held."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-export") as pool:

        def batches() -> Iterator[list[Any]]:
            pending = pool.submit(cursor.fetchmany, batch_rows)
            while rows := pending.result():
                pending = pool.submit(cursor.fetchmany, batch_rows)
                yield rows

        yield batches()


def _sheet_row(carriers: _Carriers, values: list[Any], extra: tuple[Any, ...]) -> SheetRow | None:
    _id, _exotic, overdue, carrier, named, number, template, amount, currency, percent = extra
    try:
        values[_CARRIER_AT] = carriers.cell(carrier, named)
    except Exception:  # sheet_row would fail too: its stub row says so
        return None
    url = values[_URL_AT] = sheet.tracking_url_cell(carrier, number, template)
    values[_AMOUNT_AT] = sheet.money(amount, currency)
    values[_PERCENT_AT] = percent.normalize() if isinstance(percent, Decimal) else None
    return SheetRow(values=tuple(values), tracking_url=url, overdue=bool(overdue))
