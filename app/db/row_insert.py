"""One model instance as one ``INSERT`` on a psycopg connection of our own (``app.db.reads``).

The ORM's flush costs about a millisecond for the three rows an incident opens with: its unit
of work sorts them, builds each statement's parameters through its machinery, and autoflushes
before every query that follows. A ``RowInsert`` compiles the table's INSERT once, with the
dialect's own casts, and sends the instance's column values through the same bind processing
SQLAlchemy applies (``UTCDateTime`` refuses naive times and converts to UTC). A serial key is
left out, for the database to fill, as the ORM leaves it out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Table, bindparam, insert, inspect
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import Dialect
from sqlmodel import SQLModel

_Processor = Callable[[Any], Any] | None


@functools.cache
def postgresql_dialect() -> Dialect:
    """The dialect our engine uses on PostgreSQL (psycopg 3), for statements compiled once."""
    return PGDialect_psycopg()  # type: ignore[no-untyped-call]


class RowInsert:
    """``INSERT INTO <model's table> (...) VALUES (...)`` for one instance of ``model``."""

    def __init__(self, model: type[SQLModel], dialect: Dialect) -> None:
        table = model.__table__  # type: ignore[attr-defined]
        assert isinstance(table, Table)
        properties = list(inspect(model).column_attrs)
        serial = table.autoincrement_column
        generated = {serial.name} if serial is not None else set()
        self._columns: tuple[tuple[str, str, _Processor], ...] = tuple(
            (
                prop.key,
                prop.columns[0].name,
                prop.columns[0].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for prop in properties
            if prop.columns[0].name not in generated
        )
        statement = insert(table).values(
            {name: bindparam(name, type_=table.c[name].type) for _, name, _ in self._columns}
        )
        self.sql = str(statement.compile(dialect=dialect))

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """An instance's values (its ``__dict__``, or a row of ``chained_values``) as the
        statement's parameters, each bind-processed."""
        return {
            name: (value if process is None or value is None else process(value))
            for key, name, process in self._columns
            for value in (values.get(key),)
        }
