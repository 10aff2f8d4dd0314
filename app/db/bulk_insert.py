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
from typing import Any, TypeVar

from sqlalchemy import Cast, Column, Insert, Table, bindparam, cast, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from app.db.upsert import insert_ignore_many, unbounded_type

Processor = Callable[[Any], Any] | None
M = TypeVar("M")


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
    NOTHING RETURNING`` (see ``_unnest_insert``).
    """
    if not rows:
        return set()
    if session.connection().dialect.name != "postgresql":
        return insert_ignore_many(session, table, [dict(row) for row in rows])
    statement, values = _unnest_insert(table, rows)
    primary_key = next(iter(table.primary_key.columns))
    return set(session.execute(statement.returning(primary_key), values).scalars())


def insert_ignore_entities(
    session: Session, model: type[M], rows: Sequence[Mapping[str, Any]]
) -> list[M]:
    """``insert_ignore_rows`` for a mapped class: the objects of the rows that went in, in the
    rows' order, loaded into the session as a query loads them.

    On PostgreSQL the INSERT returns the stored rows itself (defaults filled in), so no second
    query reads back thousands of just-written rows by a list of their keys.
    """
    if not rows:
        return []
    table: Table = model.__table__  # type: ignore[attr-defined]
    primary_key = next(iter(table.primary_key.columns))
    if session.connection().dialect.name == "postgresql":
        statement, values = _unnest_insert(table, rows)
        loaded = session.scalars(
            select(model).from_statement(statement.returning(*table.columns)), values
        ).all()
    else:
        inserted = insert_ignore_many(session, table, [dict(row) for row in rows])
        if not inserted:
            return []
        loaded = session.scalars(select(model).where(primary_key.in_(inserted))).all()
    by_key = {getattr(entity, primary_key.key): entity for entity in loaded}
    return [by_key[row[primary_key.key]] for row in rows if row[primary_key.key] in by_key]


def _unnest_insert(
    table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[Insert, dict[str, Any]]:
    """``INSERT ... SELECT ... FROM unnest(<an array per column>) ON CONFLICT DO NOTHING``.

    Its text is the same whatever the number of rows, so psycopg does not rewrite a statement
    of thousands of placeholders (see above) and PostgreSQL may keep it prepared. A column
    with the same value in every row (a batch's status, its times) goes as that one value
    rather than an array of copies: dumping the arrays item by item was most of the client's
    time in this statement. Arrays and values alike go through their column's bind
    processing, as in an INSERT.
    """
    names = _same_columns(table, rows)
    first = rows[0]
    same = {
        name
        for name in names
        if all(type(row[name]) is type(first[name]) and row[name] == first[name] for row in rows)
    }
    varying = [name for name in names if name not in same]
    values: dict[str, Any] = {name: first[name] for name in same}
    values.update({name: [row[name] for row in rows] for name in varying})
    if varying:
        arrays = (
            func.unnest(*(_sent(name, table.c[name], many=True) for name in varying))
            .table_valued(*varying)
            .render_derived()
        )
        given = {name: arrays.c[name] for name in varying}
        source = select(
            *(
                given[name] if name in given else _sent(name, table.c[name], many=False)
                for name in names
            )
        )
    else:  # one row, or all alike: nothing to unnest
        source = select(*(_sent(name, table.c[name], many=False) for name in names))
    statement = postgresql.insert(table).from_select(names, source).on_conflict_do_nothing()
    return statement, values


def _sent(name: str, column: Column[Any], *, many: bool) -> Cast[Any]:
    """The bound value ``name`` (an array of them with ``many``) as ``column``'s type, but a
    string's without its length: cast to ``VARCHAR(n)``, PostgreSQL would cut a long value
    silently instead of refusing it as the column does. (The bound value takes the cast's
    type, so it goes through that type's bind processing: ``UTCDateTime``'s for times.)"""
    target = unbounded_type(column)
    return cast(bindparam(name), ARRAY(target) if many else target)
