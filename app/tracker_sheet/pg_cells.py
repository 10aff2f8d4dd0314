"""The tracker's cells built by PostgreSQL in one statement: the fast export's query.

``sheet_row`` builds a row from loaded models, at a few thousand rows a second. Here one query
joins each matching incident to its parcel, folds its timeline into the Internal Action Log
and its messages into the Communication Summary, and writes every other cell the way
``sheet_row`` and ``csv_cell`` do (``sql_text`` holds the text rules). Two renderings share
it: typed cells for the XLSX writer, and CSV lines.

Two cells come from the carrier registry: Carrier and Tracking URL. The typed rendering leaves
them to Python; the CSV one writes them where a carrier's page only needs the number put in
(``carriers.page_template``), and leaves the rest to Python (check digits pick DHL's and EMS's
pages, which SQL cannot see). A row that SQL
cannot write exactly as Python would (a status without a name, a negative number, a
currency code outside ASCII) is flagged ``exotic`` and written by ``sheet_row`` instead.

Filters are the incident list's own conditions (``incident_queries.filter_conditions``), the
order is the list's (newest opened first, then id), and the statement sees one snapshot.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.core import get_global
from sqlalchemy import (
    Dialect,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlmodel import col

from app.carriers import service as carriers
from app.core.schemas import minor_units
from app.incidents import queries as incident_queries
from app.incidents.models import Incident
from app.parcels.models import Parcel
from app.tracker_sheet import columns as sheet
from app.tracker_sheet import sql_text as sql
from app.tracker_sheet.communication import CHANNEL_WORDS, DELIVERY_WORDS

PYTHON_COLUMNS = (sheet.CARRIER, "Tracking URL")
"""Cells Python writes into every row (from the carrier registry)."""

_INCIDENT = (
    "id", "number", "type", "source", "status", "resolution", "description",
    "customer_reported_at", "detected_at", "opened_at", "first_response_at", "resolved_at",
    "communication_summary", "next_step_action", "next_step_due_at", "substantiated",
    "responsible_department", "root_cause", "proposed_solution", "compensation_kind",
    "compensation_amount", "compensation_currency", "compensation_percent", "lessons_learned",
    "updated_at",
)  # fmt: skip
_PARCEL = (
    "carrier", "carrier_name", "tracking_number", "tracking_url_template", "order_id",
    "order_date", "customer_name", "customer_email", "customer_phone", "customer_locale",
    "customer_ticket_ref", "origin_country", "destination_country", "last_scan_at",
    "last_scan_status", "last_scan_description", "last_scan_city", "last_scan_country",
)  # fmt: skip
# the parcel's columns, renamed: the incident has some of the same names
_P = {name: f"p_{name}" for name in _PARCEL}


@functools.cache
def _log() -> str:
    """The Internal Action Log: ``action_log`` of the incident's entries."""
    return f"""(SELECT string_agg(
        {sql.utc_minute("e.occurred_at")} || ' | ' ||
        {sql.collapse("e.actor_name")} || ' | ' || e.kind || ' | ' || {sql.collapse("e.summary")},
        chr(10) ORDER BY e.occurred_at, e.seq)
    FROM timeline_entries AS e WHERE e.incident_id = incidents.id)"""  # noqa: S608


@functools.cache
def _message_lines() -> str:
    """``communication.message_line`` of the incident's messages and of its parcel's outside
    any incident, oldest first (NULL when there are none). Two scans, one per index: with
    ``OR`` in one scan, and bitmap scans off (``pg_export.SESSION``), PostgreSQL read the
    whole message table for every incident."""
    how = (
        f"concat_ws(' ', nullif(coalesce({sql.words('m.channel', CHANNEL_WORDS)}, m.channel), "
        f"''), {sql.words('m.delivery', DELIVERY_WORDS)})"
    )
    line = (
        f"{sql.utc_day('m.occurred_at')} || ' ' || "
        f"CASE WHEN m.direction = 'out' THEN '→' ELSE '←' END || ' ' || {how} || ': ' || "
        f"{sql.collapse('m.summary')}"
    )
    # disjoint: a message of the incident, or of its parcel and no incident
    return f"""(SELECT string_agg(m.line, chr(10) ORDER BY m.occurred_at, m.id) FROM (
        SELECT {line} AS line, m.occurred_at, m.id FROM customer_messages AS m
        WHERE m.incident_id = incidents.id
        UNION ALL
        SELECT {line}, m.occurred_at, m.id FROM customer_messages AS m
        WHERE m.parcel_id = parcels.id AND m.incident_id IS NULL) AS m)"""  # noqa: S608


def _minor_units() -> str:
    """``minor_units(currency)`` for every currency Babel knows, its default otherwise."""
    fractions = get_global("currency_fractions")
    default = minor_units("XXX-UNKNOWN")
    cases = " ".join(
        f"WHEN {sql.literal(code)} THEN {minor_units(code)}"
        for code in sorted(fractions)
        if code != "DEFAULT" and minor_units(code) != default
    )
    return f"(CASE upper(compensation_currency) {cases} ELSE {default} END)"


def _resolution_status() -> str:
    resolution = sql.words("resolution", sheet.RESOLUTION_WORDS)
    return (
        "CASE WHEN status = 'resolved' THEN 'Resolved (' || CASE WHEN coalesce(resolution, '') "
        f"= '' THEN 'Unknown' ELSE coalesce({resolution}, resolution) END || ')' "
        f"ELSE {sql.words('status', sheet.STATUS_WORDS)} END"
    )


def _last_update() -> str:
    place = (
        "nullif(concat_ws(', ', nullif(p_last_scan_city, ''), nullif(p_last_scan_country, '')), '')"
    )
    separator = sql.literal(sheet.LOCATION_SEPARATOR)
    return (
        "CASE WHEN p_last_scan_at IS NULL THEN '' ELSE coalesce(p_last_scan_description, '') || "
        f"coalesce({separator} || {place}, '') END"
    )


@dataclass(frozen=True, slots=True)
class Cell:
    """One column: its typed value as ``sheet_row`` has it, and how CSV writes it."""

    typed: str
    kind: str  # "text" (formula guard, CSV quoting), "time", "date" or "number" (as is)
    csv: str | None = None  # when CSV needs more than the typed value rendered


def _cells() -> dict[str, Cell]:
    money = (
        "CASE WHEN coalesce(compensation_currency, '') = '' THEN compensation_amount::text "
        f"ELSE round(compensation_amount, greatest({_minor_units()}, "
        "scale(trim_scale(compensation_amount))))::text END"
    )
    yes_no = "CASE WHEN {0} IS NULL THEN '' WHEN {0} THEN 'Yes' ELSE 'No' END"
    return {
        sheet.ORDER_ID: Cell("p_order_id", "text"),
        sheet.ORDER_DATE: Cell("p_order_date", "date"),
        sheet.CUSTOMER_CONTACT: Cell(
            "concat_ws('; ', nullif(p_customer_email, ''), "
            "'ticket ' || nullif(p_customer_ticket_ref, ''))",
            "text",
        ),
        sheet.TRACKING_NUMBER: Cell("p_tracking_number", "text"),
        sheet.LAST_UPDATE: Cell(_last_update(), "text"),
        sheet.LAST_UPDATE_DATE: Cell("p_last_scan_at", "time"),
        sheet.CUSTOMER_REPORTED: Cell("customer_reported_at", "time"),
        sheet.ACTION_LOG: Cell("coalesce(action_log, '')", "text"),
        sheet.COMMUNICATION: Cell(
            "CASE WHEN message_lines IS NULL THEN communication_summary "
            f"WHEN {sql.has_text('communication_summary')} THEN "
            f"{sql.trim_end('communication_summary')} || chr(10) || message_lines "
            "ELSE message_lines END",
            "text",
        ),
        sheet.NEXT_STEP: Cell("next_step_action", "text"),
        sheet.NEXT_STEP_DEADLINE: Cell("next_step_due_at", "time"),
        sheet.RESOLUTION_STATUS: Cell(_resolution_status(), "text"),
        "Incident Number": Cell(
            "'INC-' || CASE WHEN number < 1000000 THEN lpad(number::text, 6, '0') "
            "ELSE number::text END",
            "text",
        ),
        "Incident Type": Cell("type", "text"),
        "Source": Cell("source", "text"),
        "Description": Cell("description", "text"),
        "Opened At": Cell("opened_at", "time"),
        "Detected At": Cell("detected_at", "time"),
        "First Response At": Cell("first_response_at", "time"),
        "Resolved At": Cell("resolved_at", "time"),
        "Overdue": Cell(yes_no.format("overdue"), "text"),
        "Substantiated": Cell(yes_no.format("substantiated"), "text"),
        "Responsible Department": Cell("responsible_department", "text"),
        "Root Cause": Cell("root_cause", "text"),
        "Proposed Solution": Cell("proposed_solution", "text"),
        "Compensation Kind": Cell("compensation_kind", "text"),
        "Compensation Amount": Cell("compensation_amount", "number", csv=money),
        "Compensation Currency": Cell("compensation_currency", "text"),
        "Compensation Percent": Cell(
            "compensation_percent", "number", csv="trim_scale(compensation_percent)::text"
        ),
        "Lessons Learned": Cell("lessons_learned", "text"),
        "Customer Name": Cell("p_customer_name", "text"),
        "Customer Phone": Cell("p_customer_phone", "text"),
        "Customer Locale": Cell("p_customer_locale", "text"),
        "Origin Country": Cell("p_origin_country", "text"),
        "Destination Country": Cell("p_destination_country", "text"),
        "Last Tracking Status": Cell(
            "CASE WHEN p_last_scan_at IS NOT NULL THEN p_last_scan_status END", "text"
        ),
        "Incident ID": Cell("id::text", "text"),
        "Updated At": Cell("updated_at", "time"),
    }


def _csv_value(cell: Cell, typed: str) -> str:
    """The cell's CSV text before quoting (text defused; NULL for an empty cell)."""
    if cell.kind == "text":
        return sql.defuse(typed)
    if cell.kind == "time":
        return sql.utc_iso(typed)
    if cell.kind == "date":
        return f"({typed}::text)"
    return cell.csv or f"{typed}::text"


# what only sheet_row writes as Python would (see the module docstring)
_EXOTIC = (
    f"(status <> 'resolved' AND {sql.words('status', sheet.STATUS_WORDS)} IS NULL) "
    "OR number < 0 OR coalesce(compensation_currency, '') !~ '^[ -~]*$'"
)
# what Python needs for its own cells: the parcel's carrier, its name and tracking page
CARRIER_FIELDS = ("p_carrier", "p_carrier_name", "p_tracking_number", "p_tracking_url_template")
RAW_MONEY = ("compensation_amount", "compensation_currency", "compensation_percent")
# what each layer passes on besides its cells: the order, _EXOTIC's and Python's inputs
_KEPT = ("id", "opened_at", "status", "number", "overdue", *CARRIER_FIELDS, *RAW_MONEY)

Key = tuple[datetime, uuid.UUID]
"""An incident's place in the list's order: (opened_at, id), both descending."""


@dataclass(frozen=True, slots=True)
class Slice:
    """At most ``rows`` rows of the list (None: all) after the row at ``after`` (None: from
    the first). A limit, not a second bound: with it the planner walks the list's index and
    looks each parcel up, as it does for the whole list; given two bounds it misjudged the
    rows between them fivefold and read every parcel for each slice."""

    after: Key | None = None
    rows: int | None = None


def place_params(part: Slice) -> dict[str, Any]:
    """The parameters that say where ``part`` starts: a statement built for one slice after
    a place serves every other such slice with its own values of them."""
    if part.after is None:
        return {}
    opened_at, incident_id = part.after
    return {"after_opened_at": opened_at, "after_id": incident_id}


def _keys(
    *, tenant_id: uuid.UUID, filters: incident_queries.IncidentFilters, now: datetime
) -> Select[datetime, uuid.UUID]:
    """The matching incidents' places in the list's order (the list's own filters)."""
    return (
        select(col(Incident.opened_at), col(Incident.id))
        .join(Parcel, col(Parcel.id) == col(Incident.parcel_id))
        .where(*incident_queries.filter_conditions(filters, tenant_id=tenant_id, now=now))
    )


def slice_ends_statement(
    dialect: Dialect,
    *,
    tenant_id: uuid.UUID,
    filters: incident_queries.IncidentFilters,
    now: datetime,
    rows: int,
) -> tuple[str, dict[str, Any]]:
    """The place of every ``rows``-th matching incident in the list's order: the row after
    which each slice of ``rows`` rows but the first starts (the index alone answers it)."""
    ordered = (col(Incident.opened_at).desc(), col(Incident.id).desc())
    numbered = (
        _keys(tenant_id=tenant_id, filters=filters, now=now)
        .add_columns(func.row_number().over(order_by=ordered).label("n"))
        .subquery()
    )
    query = select(numbered.c.opened_at, numbered.c.id).where(numbered.c.n % rows == 0)
    compiled = query.order_by(numbered.c.n).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    return str(compiled), dict(compiled.params)


def _matching(
    *,
    tenant_id: uuid.UUID,
    filters: incident_queries.IncidentFilters,
    now: datetime,
    part: Slice,
) -> Select[Any]:
    """Each matching incident's stored fields, its parcel's, its log and its message lines."""
    due = col(Incident.next_step_due_at)
    overdue = and_(col(Incident.status) != "resolved", due.is_not(None), due < now)
    columns: list[Any] = [
        *(col(getattr(Incident, name)) for name in _INCIDENT),
        *(col(getattr(Parcel, name)).label(_P[name]) for name in _PARCEL),
        literal_column(_log()).label("action_log"),
        literal_column(_message_lines()).label("message_lines"),
        case((overdue, True), else_=False).label("overdue"),
    ]
    matching = _keys(tenant_id=tenant_id, filters=filters, now=now).with_only_columns(*columns)
    if part.after is not None:
        place = tuple_(col(Incident.opened_at), col(Incident.id))
        after = tuple_(*(bindparam(name, value) for name, value in place_params(part).items()))
        matching = matching.where(place < after)
    if part.rows is None:
        return matching
    # a number in the text, not a parameter: a prepared statement's generic plan knows it
    return matching.limit(literal_column(str(int(part.rows))))


def _statement(
    dialect: Dialect, inner: Select[Any], layers: list[list[str]], outputs: list[str]
) -> tuple[str, dict[str, Any]]:
    """The query as text with ``%(name)s`` parameters (``dialect``: the engine's, psycopg's),
    for psycopg.

    The matching rows in the list's order; then each of ``layers`` over the one before, its
    expressions named ``c0``, ``c1``, ... in the first, ``d0``, ... in the second (``OFFSET
    0`` keeps the planner from copying an expression into every place the next layer names
    it, which would compute it again there); ``outputs`` over the last.
    """
    ordered = inner.order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
    compiled = ordered.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    # our own expressions only; values are parameters
    # each layer orders too: the planner then knows the rows come sorted and sorts nothing
    # (a sort of the finished rows, wide text, would spill to disk)
    order = "t.opened_at DESC, t.id DESC"
    source = str(compiled)
    for prefix, expressions in zip("cde", layers, strict=False):
        named = ", ".join(f"{e} AS {prefix}{n}" for n, e in enumerate(expressions))
        kept = ", ".join(f"t.{name}" for name in _KEPT)  # not the cells of the layer before
        source = f"SELECT {named}, {kept} FROM ({source}) AS t ORDER BY {order} OFFSET 0"  # noqa: S608
    columns = ", ".join(outputs)
    outer = f"SELECT {columns} FROM ({source}) AS t ORDER BY {order}"  # noqa: S608
    return outer, dict(compiled.params)


# what Python's quote(normalise_number(n), safe="") and quote(n, safe="") leave as they are
_PLAIN_NUMBER = "'^[0-9A-Z_.~]+$'"
_URL_SAFE_NUMBER = "'^[0-9A-Za-z_.~-]+$'"


def _carrier_cell() -> str:
    """``carrier_cell`` for every registered carrier and ``other``; NULL for any other code
    (a 17TRACK key, a code no longer known), which Python writes."""
    codes = [code for code in carriers.carrier_codes() if code != carriers.OTHER]
    cases = " ".join(
        f"WHEN {sql.literal(code)} THEN {sql.literal(sheet.carrier_cell(code, None))}"
        for code in codes
    )
    # "Other: " and the seller's name for it, or ours (Python's ``named or OTHER_NAME``)
    default = carriers.OTHER_NAME
    prefix = sql.literal(sheet.carrier_cell(carriers.OTHER, None).removesuffix(default))
    named = f"coalesce(nullif(p_carrier_name, ''), {sql.literal(default)})"
    other = f"WHEN {sql.literal(carriers.OTHER)} THEN {prefix} || {named}"
    return f"(CASE p_carrier {cases} {other} END)"


def _tracking_url_cell() -> str:
    """``tracking_url_cell`` where SQL can write it: a carrier whose page only needs the
    number put in (``carriers.page_template``), or ``other`` with the seller's template, and
    a number that normalising and percent-encoding leave as it is. NULL otherwise (DHL's and
    EMS's pages, a number with spaces or lower case...), which Python writes."""
    field = sql.literal(carriers.NUMBER_FIELD)
    pages = {
        code: page
        for code in [*carriers.carrier_codes(), carriers.OTHER]
        if (page := carriers.page_template(code)) is not None
    }
    cases = " ".join(
        f"WHEN {sql.literal(code)} THEN replace({sql.literal(page)}, {field}, p_tracking_number)"
        for code, page in pages.items()
    )
    seller = (
        f"CASE WHEN p_tracking_number ~ {_URL_SAFE_NUMBER} "
        f"THEN replace(p_tracking_url_template, {field}, p_tracking_number) END"
    )
    return (
        f"(CASE WHEN p_carrier = {sql.literal(carriers.OTHER)} "
        f"AND p_tracking_url_template IS NOT NULL THEN {seller} "
        f"WHEN p_tracking_number ~ {_PLAIN_NUMBER} THEN CASE p_carrier {cases} END END)"
    )


def _typed() -> list[str]:
    cells = _cells()
    return ["NULL" if name in PYTHON_COLUMNS else cells[name].typed for name in sheet.COLUMNS]


def csv_statement(
    dialect: Dialect,
    *,
    tenant_id: uuid.UUID,
    filters: incident_queries.IncidentFilters,
    now: datetime,
    part: Slice = Slice(),
) -> tuple[str, dict[str, Any]]:
    """Rows of (CSV lines with their line ends, one or a run of them; then, for a row SQL
    leaves to Python and NULL otherwise: id, exotic, carrier fields..., the CSV text before
    the Carrier cell, between it and the Tracking URL cell, and after it)."""
    cells = _cells()
    width = len(sheet.COLUMNS)
    first, second = (sheet.COLUMNS.index(name) for name in PYTHON_COLUMNS)
    values = [
        "NULL" if name in PYTHON_COLUMNS else _csv_value(cells[name], f"c{n}")
        for n, name in enumerate(sheet.COLUMNS)
    ]
    values += [sql.defuse(f"c{width}"), sql.defuse(f"c{width + 1}")]

    def joined(at: range) -> str:
        return " || ',' || ".join(
            sql.csv_field(f"d{n}")
            if cells[sheet.COLUMNS[n]].kind == "text"
            else f"coalesce(d{n}, '')"
            for n in at
        )

    def field(name: str) -> str:  # NULL stays NULL: Python writes the cell
        return f"CASE WHEN {name} IS NOT NULL THEN {sql.csv_field(name)} END"

    parts = [
        f"({_EXOTIC})",
        joined(range(first)),
        joined(range(first + 1, second)),
        joined(range(second + 1, width)),
        field(f"d{width}"),
        field(f"d{width + 1}"),
    ]
    python = " OR ".join(["e0", *(f"e{n} IS NULL" for n in range(1, len(parts)))])
    line = "e1 || ',' || e4 || ',' || e2 || ',' || e5 || ',' || e3 || chr(13) || chr(10)"
    for_python = ["id::text", "e0", *CARRIER_FIELDS, "e1", "e2", "e3"]
    outputs = [
        f"CASE WHEN NOT ({python}) THEN {line} END AS line",
        *(f"CASE WHEN {python} THEN {value} END AS p{n}" for n, value in enumerate(for_python)),
        "row_number() OVER (ORDER BY t.opened_at DESC, t.id DESC) AS n",
    ]
    inner = _matching(tenant_id=tenant_id, filters=filters, now=now, part=part)
    typed = [*_typed(), _carrier_cell(), _tracking_url_cell()]
    rows, params = _statement(dialect, inner, [typed, values, parts], outputs)
    return _in_runs(rows, len(for_python)), params


LINES_PER_RUN = 64
"""Lines SQL joins into one row of the CSV statement (where Python writes none of them)."""


def _in_runs(rows: str, python_columns: int) -> str:
    """``rows`` (line, Python's columns p0, p1, ..., n) with each run of ``LINES_PER_RUN``
    rows that Python has nothing to write in joined into one text: a row costs the reader
    more than its bytes do (about 5 µs a row). A run with a row Python writes comes row by
    row."""
    names = [f"p{n}" for n in range(python_columns)]
    nulls = ", ".join(f"NULL AS {name}" for name in names)
    columns = ", ".join(names)
    run = f"(n - 1) / {LINES_PER_RUN}"
    return f"""WITH s AS MATERIALIZED ({rows})
SELECT line, {columns} FROM (
    SELECT min(n) AS n, string_agg(line, '' ORDER BY n) AS line, {nulls}
    FROM s GROUP BY {run} HAVING bool_and(line IS NOT NULL)
    UNION ALL
    SELECT n, line, {columns} FROM s
    WHERE {run} IN (SELECT {run} FROM s WHERE line IS NULL)
) AS r ORDER BY n"""  # noqa: S608


def typed_statement(
    dialect: Dialect,
    *,
    tenant_id: uuid.UUID,
    filters: incident_queries.IncidentFilters,
    now: datetime,
    part: Slice = Slice(),
) -> tuple[str, dict[str, Any]]:
    """Rows of the typed cells in ``COLUMNS`` order (NULL where Python writes the cell), then
    the id, exotic, overdue, the carrier fields and the stored compensation."""
    outputs = [f"c{n}" for n in range(len(sheet.COLUMNS))]
    outputs += ["id", f"({_EXOTIC})", "overdue", *CARRIER_FIELDS, *RAW_MONEY]
    inner = _matching(tenant_id=tenant_id, filters=filters, now=now, part=part)
    return _statement(dialect, inner, [_typed()], outputs)
