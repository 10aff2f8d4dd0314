"""Many rows into one table, as fast as the backend takes them: COPY on PostgreSQL.

A multi-row ``INSERT ... VALUES`` of 500 rows of 40 columns is a statement of 20,000
parameters whose text differs with the row count: psycopg rewrites its placeholders every
time (a regular-expression pass over the whole statement) and PostgreSQL parses and plans it
every time. In the tracker import that was half of all the time spent writing. ``COPY ... FROM
STDIN`` streams the rows instead: no statement text grows with them and nothing is planned.

The values go through each column's own bind processing first (``UTCDateTime`` refuses naive
times and converts to UTC, exactly as an INSERT would), then psycopg's text form of each
Python value, which PostgreSQL reads back losslessly (times to the microsecond, decimals to
the digit). Only what a row gives is written: the table's server defaults fill the rest, as
they would for an INSERT naming the same columns. SQLite keeps the multi-row INSERT.

``insert_ignore_rows`` is ``INSERT ... ON CONFLICT DO NOTHING`` for a batch (a detection tick's
incidents): one array per column through ``unnest``, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, cast, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from app.db.upsert import insert_ignore_many

Processor = Callable[[Any], Any] | None


def _same_columns(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"rows for {table.name} name different columns")
    return list(rows[0])


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (column name to value; every row naming the same columns) in the
    session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        # RETURNING lets SQLAlchemy send up to 1,000 rows per statement instead of one each
        session.execute(insert(table).returning(*table.primary_key.columns), rows).all()
        return
    names = _same_columns(table, rows)
    dialect = connection.dialect
    processors: list[Processor] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    quote = dialect.identifier_preparer.quote
    statement = (
        f"COPY {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in names)}) FROM STDIN"
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    value if process is None or value is None else process(value)
                    for value, process in zip(
                        (row[name] for name in names), processors, strict=True
                    )
                ]
            )


def insert_ignore_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]]
) -> set[Any]:
    """``insert_ignore_many`` (``app.db.upsert``) for a batch of thousands: the primary keys of
    the rows no unique constraint already held.

    On PostgreSQL one ``INSERT ... SELECT * FROM unnest(<an array per column>) ON CONFLICT DO
    NOTHING RETURNING``: its text is the same whatever the number of rows, so psycopg does not
    rewrite a statement of thousands of placeholders (see above) and PostgreSQL may keep it
    prepared. Each array's items go through their column's bind processing, as in an INSERT.
    """
    if not rows:
        return set()
    if session.connection().dialect.name != "postgresql":
        return insert_ignore_many(session, table, [dict(row) for row in rows])
    names = _same_columns(table, rows)
    arrays = (
        func.unnest(*(cast(bindparam(name), ARRAY(table.c[name].type)) for name in names))
        .table_valued(*names)
        .render_derived()
    )
    statement = (
        postgresql.insert(table)
        .from_select(names, select(*(arrays.c[name] for name in names)))
        .on_conflict_do_nothing()
        .returning(next(iter(table.primary_key.columns)))
    )
    values = {name: [row[name] for row in rows] for name in names}
    return set(session.execute(statement, values).scalars())
