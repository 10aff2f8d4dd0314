"""INSERT ... ON CONFLICT DO NOTHING for both backends: the idempotent write we rely on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Column, Dialect, Insert, String, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session


class _BinaryList(list[Any]):
    """A column's values that psycopg sends as one array in its binary format.

    psycopg writes a plain list as array text, escaping every item in Python: for a poll
    page's scans that took a tenth of the page's store. Its binary format carries each item
    as it is, with its type (the same values arrive; ``tests/db/test_upsert.py``). Only this
    class is registered, so no other list psycopg sends changes.
    """


psycopg.adapters.register_dumper(_BinaryList, ListBinaryDumper)


class BinaryArray(TypeDecorator[Any]):
    """``ARRAY`` whose bound value, once each item went through its column's bind
    processing, is a ``_BinaryList``. The processing is the ARRAY's own, so this overrides
    ``bind_processor`` (``process_bind_param`` would run before it and be copied away)."""

    impl = postgresql.ARRAY
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        items = self.impl_instance.dialect_impl(dialect).bind_processor(dialect)

        def process(value: Any) -> Any:
            if value is None:
                return None
            return _BinaryList(items(value) if items is not None else value)

        return process


def insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless a unique constraint already holds it; True when inserted."""
    return bool(insert_ignore_many(session, table, [values]))


def insert_ignore_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> set[Any]:
    """Insert the rows no unique constraint already holds; the primary keys that went in.

    RETURNING tells us reliably which rows went in (a DBAPI rowcount is not portable), so a
    caller writes the consequences (timeline entries, events) only for those.
    """
    dialect = session.get_bind().dialect.name
    primary_key = next(iter(table.primary_key.columns))
    if not rows:
        return set()
    if dialect == "postgresql" and len(rows) > 1 and _complete(table, rows):
        statement = _from_arrays(table, rows).returning(primary_key)
        return set(session.execute(statement).scalars())
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing().returning(primary_key)
    # executemany with RETURNING: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
    return set(session.execute(statement, list(rows)).scalars())


def _complete(table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """Every row names the same columns, among them every column with a default in Python
    (an INSERT ... SELECT would compute such a default once for all rows, not once per row)."""
    names = rows[0].keys()
    defaulted = {column.name for column in table.columns if column.default is not None}
    return defaulted <= names and all(row.keys() == names for row in rows)


def _from_arrays(table: Table, rows: Sequence[dict[str, Any]]) -> Insert:
    """PostgreSQL: the rows sent as one array per column and unnested by the server.

    The statement stays a few hundred characters whatever the number of rows. A multi-row
    VALUES list carries a placeholder per value, and psycopg rewrites placeholders in Python
    for every statement longer than 4 kB it cannot cache: for a poll page's scans that
    rewriting took most of the time the page took to store.
    """
    names = list(rows[0])
    arrays = [
        bindparam(
            f"column_{index}",
            [row[name] for row in rows],
            type_=BinaryArray(unbounded_type(table.c[name])),
        )
        for index, name in enumerate(names)
    ]
    given = func.unnest(*arrays).table_valued(*names).render_derived(name="given")
    return (
        postgresql.insert(table)
        .from_select(names, select(*given.c), include_defaults=False)
        .on_conflict_do_nothing()
    )


def unbounded_type(column: Column[Any]) -> TypeEngine[Any]:
    """The column's type, strings without their length, for a value cast on its way into the
    column: a cast to ``VARCHAR(n)`` (or ``VARCHAR(n)[]``) cuts a long value silently, where
    the column refuses it as a plain INSERT does."""
    type_ = column.type
    impl = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if isinstance(impl, String) and impl.length is not None:
        return String()
    return type_
